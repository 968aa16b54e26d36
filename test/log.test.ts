// The JSON log line: built by hand for speed (src/lib/log.ts), so checked against what JSON.stringify would write.
import { describe, expect, test } from "bun:test";
import { createLogger } from "../src/lib/log.ts";

function capture(level: "debug" | "info" = "debug") {
  const lines: string[] = [];
  return { log: createLogger({ level, write: (line) => lines.push(line) }), lines };
}

describe("JSON log lines", () => {
  test("time, level, msg, then the fields, as one JSON object", () => {
    const { log, lines } = capture();
    log.info("request", { request_id: "abc-1", status: 200, duration_ms: 1.25, user_id: undefined, nested: { a: [1, "x"] } });
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0]!);
    expect(Object.keys(entry)).toEqual(["time", "level", "msg", "request_id", "status", "duration_ms", "nested"]);
    expect(entry).toEqual({ time: expect.any(String), level: "info", msg: "request", request_id: "abc-1", status: 200, duration_ms: 1.25, nested: { a: [1, "x"] } });
    expect(new Date(entry.time).toISOString()).toBe(entry.time);
  });

  test("a message with quotes, newlines or control characters stays one valid line", () => {
    const { log, lines } = capture();
    log.warn('he said "hi"\nand\u0000left', { path: "/a\"b" });
    expect(lines[0]).not.toContain("\n");
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: "warn", msg: 'he said "hi"\nand\u0000left', path: '/a"b' });
  });

  test("without fields, or with only undefined ones, the line is just time, level and msg", () => {
    const { log, lines } = capture();
    log.error("boom");
    log.error("boom", { gone: undefined });
    for (const line of lines) expect(Object.keys(JSON.parse(line))).toEqual(["time", "level", "msg"]);
  });

  test("lines below the level are not written", () => {
    const { log, lines } = capture("info");
    log.debug("quiet", { x: 1 });
    expect(lines).toEqual([]);
  });

  test("the time moves on between lines written in different milliseconds", async () => {
    const { log, lines } = capture();
    log.info("first");
    await Bun.sleep(3);
    log.info("second");
    const [a, b] = lines.map((line) => Date.parse(JSON.parse(line).time));
    expect(b!).toBeGreaterThan(a!);
  });
});

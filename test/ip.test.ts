// src/lib/ip.ts's isIP carries node:net's own expressions so that a start does not load node:net (about 2 ms): it
// must answer exactly as node:net's isIP does, for the addresses operators write and for anything else.
import { describe, expect, test } from "bun:test";
import { isIP as nodeIsIP } from "node:net";
import { isIP } from "../src/lib/ip.ts";

const WRITTEN = [
  "127.0.0.1", "0.0.0.0", "255.255.255.255", "256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.04", " 1.2.3.4", "1.2.3.4 ",
  "::", "::1", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1", "::ffff:7f00:1", "2001:db8::1", "2001:DB8::1", "2001:db8:0:0:0:0:0:1:2",
  "fe80::1%eth0", "fe80::1%", "fe80::1%en0.1", "[::1]", "2001:db8::1/64", "2001:db8:::1", "1::2::3", "::1.2.3.4", "1::1.2.3.4",
  "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7:1.2.3.4", "1:2:3:4:5:6:7:", ":1:2:3:4:5:6:7", "12345::", "g::1", "", "localhost",
  "unknown", "1.2.3.4:80", "[2001:db8::1]:443", "::ffff:256.0.0.1", "0000:0000:0000:0000:0000:0000:0000:0001",
];

describe("isIP", () => {
  test("answers as node:net's isIP for the addresses people write, and near misses", () => {
    for (const text of WRITTEN) expect([text, isIP(text) as number]).toEqual([text, nodeIsIP(text)]);
  });

  test("answers as node:net's isIP for 40 000 strings shaped like addresses, most of them nearly right", () => {
    let seed = 20_261_207;
    const random = (n: number) => Math.floor(((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31) * n);
    const pick = (choices: string) => choices[random(choices.length)]!;
    const decimal = () => (random(10) === 0 ? "0" : "") + String(random(270));
    const hex = () => {
      let text = "";
      for (let k = random(6); k > 0; k--) text += pick("0123456789abcdefABCDEFg");
      return text;
    };
    const ipv4 = () => Array.from({ length: 3 + random(3) }, decimal).join(".");
    const ipv6 = () => {
      const groups = Array.from({ length: 1 + random(9) }, hex);
      if (random(2) === 0) groups.splice(random(groups.length + 1), 0, ""); // a "::"
      if (random(5) === 0) groups[groups.length - 1] = ipv4();
      return groups.join(":") + (random(8) === 0 ? `%${hex()}` : "");
    };
    const differ: string[] = [];
    const valid = { 4: 0, 6: 0 };
    for (let i = 0; i < 40_000; i++) {
      let text = random(2) === 0 ? ipv4() : ipv6();
      if (random(30) === 0) text = pick(" [") + text;
      const answer = nodeIsIP(text);
      if (answer !== 0) valid[answer as 4 | 6]++;
      if (isIP(text) !== answer) differ.push(text);
    }
    expect(differ).toEqual([]);
    // The corpus holds plenty of real addresses of both kinds, not only refusals.
    expect(valid[4]).toBeGreaterThan(100);
    expect(valid[6]).toBeGreaterThan(100);
  });
});

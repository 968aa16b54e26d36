#!/usr/bin/env bash
# Copies the binary alone into an empty directory, creates an admin, serves, signs in, asks /auth/me.
set -euo pipefail
binary=$(realpath "$1")
work=$(mktemp -d)
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
cp "$binary" "$work/moxie"
cd "$work"

./moxie --version
printf 'smoke-password-1\n' | ./moxie create-admin --email smoke@example.com --name Smoke
port=$(bun -e 'const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() }); console.log(s.port); s.stop(true)')
./moxie serve --port "$port" >serve.log 2>&1 &
server_pid=$!

bun -e '
const base = `http://127.0.0.1:${process.argv[1]}`;
for (let i = 0; ; i++) {
  try { if ((await fetch(`${base}/health`)).ok) break; } catch {}
  if (i > 100) throw new Error("server did not come up");
  await Bun.sleep(50);
}
const login = await fetch(`${base}/auth/login`, { method: "POST", headers: { "content-type": "application/json" },
  body: JSON.stringify({ email: "smoke@example.com", password: "smoke-password-1" }) });
if (login.status !== 200) throw new Error(`login: ${login.status} ${await login.text()}`);
const { access_token } = await login.json();
const me = await fetch(`${base}/auth/me`, { headers: { authorization: `Bearer ${access_token}` } });
const body = await me.text();
if (me.status !== 200 || !body.includes("smoke@example.com") || body.includes("argon2")) throw new Error(`me: ${me.status} ${body}`);
console.log("smoke: login and /auth/me OK");
' "$port"

kill -TERM "$server_pid"
wait "$server_pid" && echo "smoke: clean exit on SIGTERM"
server_pid=""
grep -q '"moxie listening"' serve.log

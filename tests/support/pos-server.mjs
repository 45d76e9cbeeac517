// Starts the reference POS server (www-example/server, the pos-server binary)
// for the Node drivers of the soak and the benchmarks.
import { spawn } from "node:child_process";
import readline from "node:readline";

// Chaos mode with every fault at rate 0: nothing is injected until a test
// turns a fault on through PUT /api/chaos.
export const CHAOS_OFF_ARGS = ["--chaos", "--chaos-error503-rate", "0", "--chaos-drop-before-rate", "0",
  "--chaos-drop-after-commit-rate", "0", "--chaos-latency-rate", "0"];

// Spawns `bin` with `args` (in `cwd`, with `env` over process.env; stdin
// closed, stdout piped, stderr piped or the given `stderr` file descriptor)
// and resolves with the child process, its `url` set, once the server has
// printed its address and /healthz answers 200. Rejects when it exits before
// /healthz answers, or when either step takes over `timeoutMs` (the child is
// then sent SIGTERM if it has not printed its address). `onSpawn(child)` runs
// right after the spawn (to keep the pid, to take stderr); `onLine(line)`
// gets each line of stdout, which is read to the end; `hint()` is appended to
// the error messages (where the log is, or what it said).
export async function startPosServer({
  bin, args, cwd, env = {}, stderr = "pipe", timeoutMs = 30_000, onSpawn = () => {}, onLine = () => {}, hint = () => "",
}) {
  const child = spawn(bin, args, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", stderr] });
  onSpawn(child);
  child.url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGTERM");
      reject(new Error(`pos-server did not print its address within ${timeoutMs / 1000} s${hint()}`));
    }, timeoutMs);
    child.once("exit", (code, sig) => { clearTimeout(timer); reject(new Error(`pos-server exited (${code ?? sig})${hint()}`)); });
    readline.createInterface({ input: child.stdout }).on("line", (line) => {
      onLine(line);
      const m = line.match(/pos-server listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
  });
  // Bounded wait for /healthz (the store is open once it answers).
  for (const deadline = Date.now() + timeoutMs; ;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`pos-server exited (${child.exitCode ?? child.signalCode})${hint()}`);
    try {
      if ((await fetch(`${child.url}/healthz`)).ok) return child;
    } catch { /* not yet */ }
    if (Date.now() >= deadline) throw new Error(`pos-server did not answer /healthz within ${timeoutMs / 1000} s${hint()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

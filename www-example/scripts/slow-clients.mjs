// Slow and idle clients against a running pos-server, for the README's
// reliability figures: opens IDLE sockets that send nothing and SLOW sockets
// that send an unfinished request head of PAD_KIB KiB, waits WAIT_S seconds,
// then prints how many sockets the server process holds, its resident memory,
// and how many of the client sockets it has closed. Loopback only.
//
//   node www-example/scripts/slow-clients.mjs http://127.0.0.1:PORT SERVER_PID \
//     [IDLE=1000] [SLOW=1000] [PAD_KIB=390] [WAIT_S=15]
import fs from "node:fs";
import net from "node:net";

const [url, pid, idle = "1000", slow = "1000", padKiB = "390", waitS = "15"] = process.argv.slice(2);
if (!url || !pid) {
  console.error("usage: slow-clients.mjs URL SERVER_PID [IDLE] [SLOW] [PAD_KIB] [WAIT_S]");
  process.exit(2);
}
const { hostname, port } = new URL(url);
if (hostname !== "127.0.0.1" && hostname !== "localhost") throw new Error("loopback only");

const sockets = [];
let closedByServer = 0;
function open(head) {
  const socket = net.connect({ host: hostname, port: Number(port) });
  socket.on("error", () => {});
  socket.on("close", () => { closedByServer += 1; });
  if (head) socket.on("connect", () => socket.write(head));
  sockets.push(socket);
}
const pad = "a".repeat(Number(padKiB) * 1024);
for (let i = 0; i < Number(idle); i += 1) open(null);
for (let i = 0; i < Number(slow); i += 1) open(`GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: ${pad}`);

await new Promise((resolve) => setTimeout(resolve, Number(waitS) * 1000));
const fds = fs.readdirSync(`/proc/${pid}/fd`).filter((fd) => {
  try { return fs.readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith("socket:"); } catch { return false; }
}).length;
const rss = fs.readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+) kB/)[1];
console.log(`after ${waitS} s with ${idle} idle + ${slow} slow (${padKiB} KiB unfinished head) sockets: ` +
  `server holds ${fds} sockets, RSS ${Math.round(Number(rss) / 1024)} MiB; the server closed ${closedByServer} of ${sockets.length}`);
for (const s of sockets) s.destroy();

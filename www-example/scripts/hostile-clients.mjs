// Holds IDLE silent sockets and SLOW slowloris sockets (a request head sent one
// header line every 2 s, never finished) open against a running pos-server
// for SECONDS, opening a new one for each the server closes. Prints "ready"
// once every socket has been opened, and at the end how many the server
// closed. For bench-server.sh. Loopback only.
//
//   node www-example/scripts/hostile-clients.mjs http://127.0.0.1:PORT [IDLE=2000] [SLOW=200] [SECONDS=40]
import net from "node:net";

const [url, idle = "2000", slow = "200", seconds = "40"] = process.argv.slice(2);
if (!url) {
  console.error("usage: hostile-clients.mjs URL [IDLE] [SLOW] [SECONDS]");
  process.exit(2);
}
const { hostname, port } = new URL(url);
if (hostname !== "127.0.0.1" && hostname !== "localhost") throw new Error("loopback only");

const deadline = Date.now() + Number(seconds) * 1000;
const live = new Set();
let closedByServer = 0;

function open(isSlow) {
  const socket = net.connect({ host: hostname, port: Number(port) });
  live.add(socket);
  let drip = null;
  socket.on("error", () => {});
  socket.on("connect", () => {
    if (!isSlow) return;
    socket.write("GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    drip = setInterval(() => socket.write("X-Slow: 1\r\n"), 2000);
  });
  socket.on("close", () => {
    clearInterval(drip);
    live.delete(socket);
    if (Date.now() < deadline) {
      closedByServer += 1;
      open(isSlow);
    }
  });
}

for (let i = 0; i < Number(idle); i += 1) open(false);
for (let i = 0; i < Number(slow); i += 1) open(true);
console.log("ready");
await new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now())));
console.log(`hostile clients: ${idle} idle + ${slow} slow kept open for ${seconds} s; the server closed ${closedByServer}`);
for (const socket of live) socket.destroy();

// The scaled feed on one machine, for trying it: `make scale-up` / `make scale-down`. Never started by `make up`.
// Three JetStream nodes on loopback (clients 4222-4224, routes 6222-6224, stores in logs/nats/), st-feed-relay on
// the operator's logs, two feed edges (8181, 8182) and a round-robin proxy in front of them (8180).
// Like ecosystem.config.js, each app loads its own env file; no secret passes through PM2.
const fs = require("fs");
const path = require("path");
const { app, python, root } = require("./pm2-app.js");

const natsServer = fs.existsSync("/usr/sbin/nats-server") ? "/usr/sbin/nats-server" : "nats-server";

function natsNode(i) {
  const routes = [0, 1, 2].filter((j) => j !== i).map((j) => `nats://127.0.0.1:${6222 + j}`).join(",");
  return app(`st-nats-${i + 1}`, natsServer, [
    "-js", "-a", "127.0.0.1", "-p", String(4222 + i), "-n", `n${i + 1}`,
    "-sd", path.join(root, "logs", "nats", `n${i + 1}`),
    "--cluster_name", "tbot", "--cluster", `nats://127.0.0.1:${6222 + i}`, "--routes", routes,
  ]);
}

module.exports = {
  apps: [
    natsNode(0),
    natsNode(1),
    natsNode(2),
    app("st-feed-relay", python, ["-m", "dashboard.edge.relay", "--env", "envs/relay.env"]),
    app("st-feed-edge-1", python, ["-m", "shared.cli", "feed-edge", "--env", "envs/edge.env", "--port", "8181"]),
    app("st-feed-edge-2", python, ["-m", "shared.cli", "feed-edge", "--env", "envs/edge.env", "--port", "8182"]),
    app("st-feed-proxy", python, ["-m", "dashboard.edge.proxy", "--listen", "127.0.0.1:8180",
      "--backend", "127.0.0.1:8181", "--backend", "127.0.0.1:8182"]),
  ],
};

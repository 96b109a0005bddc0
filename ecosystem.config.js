// PM2 fleet for tbot. Started by `make up`; PM2_HOME is .pm2/ inside the repo (set by the Makefile).
// Secrets never pass through PM2 (`pm2 jlist` prints every env var): each app loads its own env file.
const path = require("path");
const { execFileSync } = require("child_process");

const root = __dirname;
const python = path.join(root, ".venv", "bin", "python");

function app(name, args, extra = {}) {
  return {
    name,
    script: python,
    args,
    interpreter: "none",
    cwd: root,
    env: { PYTHONUNBUFFERED: "1" },
    out_file: path.join(root, "logs", "pm2", `${name}.out.log`),
    error_file: path.join(root, "logs", "pm2", `${name}.err.log`),
    log_date_format: "YYYY-MM-DD HH:mm:ss.SSS Z",
    time: true,
    autorestart: true,
    // A crash loop (exits faster than min_uptime) ends in `errored` after max_restarts instead of forever.
    // No restart_delay / exp_backoff_restart_delay: PM2 (God.js handleExit) sets `waiting restart` after it has
    // marked an app `errored` whenever either is set, so a crash-looping surface would never show as errored,
    // and its unstable-restart count only runs within min_uptime × max_restarts of the app's start.
    min_uptime: "10s",
    max_restarts: 10,
    // SIGINT first: the loop finishes its tick, flushes and exits 0 before PM2 would SIGKILL it.
    kill_timeout: 15000,
    max_memory_restart: "400M",
    ...extra,
  };
}

// One loop per surface, from the one table of surfaces (shared/surfaces.py): a new surface needs no edit here.
const surfaces = JSON.parse(execFileSync(python, ["-m", "shared.surfaces", "--json"], { cwd: root }).toString());

module.exports = {
  apps: [
    ...surfaces.map((s) => app(s.process, ["-m", s.package, "--env", `envs/${s.env_file}`])),
    app("st-resolver", ["-m", "surfaces.resolver", "--env", "envs/resolver.env"]),
    app("st-dashboard", ["-m", "dashboard", "--env", "envs/dashboard.env"]),
  ],
};

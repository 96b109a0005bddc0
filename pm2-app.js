// One PM2 app definition for tbot's ecosystem files (ecosystem.config.js, ecosystem.scale.config.js).
// Secrets never pass through PM2 (`pm2 jlist` prints every env var): each app loads its own env file.
const path = require("path");

const root = __dirname;
const python = path.join(root, ".venv", "bin", "python");

function app(name, script, args, extra = {}) {
  return {
    name,
    script,
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
    // marked an app `errored` whenever either is set, so a crash-looping app would never show as errored,
    // and its unstable-restart count only runs within min_uptime × max_restarts of the app's start.
    min_uptime: "10s",
    max_restarts: 10,
    // SIGINT first: a loop finishes its tick, flushes and exits 0 before PM2 would SIGKILL it.
    kill_timeout: 15000,
    ...extra,
  };
}

module.exports = { app, python, root };

// PM2 fleet for tbot. Started by `make up`; PM2_HOME is .pm2/ inside the repo (set by the Makefile).
// Secrets never pass through PM2 (`pm2 jlist` prints every env var): each app loads its own env file.
const { execFileSync } = require("child_process");
const { app: pm2App, python, root } = require("./pm2-app.js");

// The fleet's apps: the venv's interpreter, capped at 400 MB each.
const app = (name, args) => pm2App(name, python, args, { max_memory_restart: "400M" });

// One loop per surface, from the one table of surfaces (shared/surfaces.py): a new surface needs no edit here.
const surfaces = JSON.parse(execFileSync(python, ["-m", "shared.surfaces", "--json"], { cwd: root }).toString());

module.exports = {
  apps: [
    ...surfaces.map((s) => app(s.process, ["-m", s.package, "--env", `envs/${s.env_file}`])),
    app("st-resolver", ["-m", "surfaces.resolver", "--env", "envs/resolver.env"]),
    app("st-dashboard", ["-m", "dashboard", "--env", "envs/dashboard.env"]),
  ],
};

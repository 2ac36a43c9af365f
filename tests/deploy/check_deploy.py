#!/usr/bin/env python3
"""Checks the container deployment as far as this machine can without a Docker engine.

  check_deploy.py SOURCE_DIR APPS_DIR

1. docker-compose.yml is valid for docker-compose (`config -q`, with .env.example's values).
2. The old system's container names are all there, medgate-drill --compose's too, and two
   gateways serve.
   docker-compose.mysql8.yml merges with it.
3. Every build target compose asks for is a stage of the Dockerfile; every file the
   Dockerfile copies and every file compose mounts exists; mounted scripts are executable.
4. The Dockerfile: known instructions only; each component's stage runs as a non-root user
   and has a HEALTHCHECK; its runtime packages provide every shared library the binaries
   link directly (readelf NEEDED, mapped to Debian packages with dpkg -S). No hadolint in
   Debian 12: this is the documented substitute.
5. Each component's configuration, with the environment compose gives that container, passes
   the component's own --check-config (the binaries of APPS_DIR, the files of config/).
6. The shell scripts the containers run pass shellcheck.
7. The Kubernetes manifests parse, name apiVersion/kind/metadata.name, and the gateway's
   Deployment has startup, liveness and readiness probes and a PodDisruptionBudget.
Exits 1 naming every failure.
"""
import atexit
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

SRC, APPS = sys.argv[1], sys.argv[2]
failures = []


def fail(msg):
    failures.append(msg)


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)


for tool in ("docker-compose", "shellcheck", "readelf", "dpkg"):
    if not shutil.which(tool):
        print(f"check_deploy: {tool} is missing (scripts/test installs it)", file=sys.stderr)
        sys.exit(1)

# 1. compose validity
r = run(["docker-compose", "--env-file", f"{SRC}/.env.example", "-f", f"{SRC}/docker-compose.yml",
         "config"], cwd=SRC)
if r.returncode != 0:
    print(f"docker-compose config failed:\n{r.stderr}", file=sys.stderr)
    sys.exit(1)
compose = yaml.safe_load(r.stdout)
services = compose["services"]
# The MySQL 8 override merges (its own root password added to the example's).
with open(f"{SRC}/.env.example") as fh:
    env8 = fh.read() + "MYSQL_ROOT_PASSWORD=example\n"
env8_file = tempfile.NamedTemporaryFile("w", suffix=".env", delete=False)
env8_file.write(env8)
env8_file.close()
atexit.register(os.unlink, env8_file.name)
r = run(["docker-compose", "--env-file", env8_file.name, "-f", f"{SRC}/docker-compose.yml", "-f",
         f"{SRC}/docker-compose.mysql8.yml", "config", "-q"], cwd=SRC)
if r.returncode != 0:
    fail(f"docker-compose.mysql8.yml does not merge: {r.stderr.strip()}")

# 2. names
OLD_NAMES = {"mariadb-master", "mariadb-replica", "postgres_primary", "postgres_replica",
             "mysql_primary", "mysql_replica", "app1", "app1-replica", "app2", "app3",
             "middleware", "mariadb-monitor", "postgres-monitor", "mysql-monitor"}
names = {s.get("container_name") for s in services.values()}
for n in sorted(OLD_NAMES - names):
    fail(f"compose: no container named {n}")
# medgate-drill --compose drives these containers by name (apps/medgate-drill/stack_control.cpp).
with open(f"{SRC}/apps/medgate-drill/stack_control.cpp") as fh:
    drill_names = re.findall(r'\{"[a-z0-9-]+", "([a-z0-9_-]+)"\}', fh.read())
if len(drill_names) < 15:
    fail(f"found {len(drill_names)} container names in medgate-drill's map, want its 17")
for n in sorted(set(drill_names) - names):
    fail(f"medgate-drill --compose drives a container named {n}, which compose does not have")
gateways = [k for k, s in services.items() if s.get("build", {}).get("target") == "middleware"
            and "medgate.example.yaml" in s.get("environment", {}).get(
                "MEDGATE_CONFIG", "/etc/medgate/medgate.example.yaml")]
if len(gateways) < 2:
    fail(f"compose: {len(gateways)} gateway instance(s) for the portal, want 2: {gateways}")

# 3/4. Dockerfile
KNOWN = {"FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME",
         "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"}
lines, buf = [], ""
with open(f"{SRC}/Dockerfile") as f:
    for raw in f:
        line = raw.rstrip("\n")
        if not buf and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if buf and line.lstrip().startswith("#"):
            continue
        buf += line[:-1] + " " if line.endswith("\\") else line
        if not line.endswith("\\"):
            lines.append(buf.strip())
            buf = ""
if buf:
    fail("Dockerfile: ends inside a continued line")
stages, current = {}, None
for line in lines:
    word = line.split()[0].upper()
    if word not in KNOWN:
        fail(f"Dockerfile: unknown instruction {word}")
        continue
    if word == "FROM":
        m = re.match(r"FROM\s+(\S+)(?:\s+AS\s+(\S+))?$", line, re.I)
        if not m:
            fail(f"Dockerfile: bad FROM: {line}")
            continue
        current = m.group(2) or f"stage{len(stages)}"
        base = m.group(1)
        stages[current] = dict(stages.get(base, {}), base=base, lines=[])
        stages[current]["lines"] = list(stages.get(base, {}).get("lines", []))
    stages[current]["lines"].append(line)
    if word == "COPY" and "--from=" not in line:
        for src in line.split()[1:-1]:
            if not src.startswith("--") and not any(
                    os.path.exists(p) for p in [f"{SRC}/{src}"] + (
                        [f"{SRC}/{os.path.dirname(src)}"] if "*" in src else [])):
                fail(f"Dockerfile: COPY source {src} does not exist")
targets = {s["build"]["target"] for s in services.values() if "build" in s}


def read(path):
    with open(f"{SRC}/{path}") as fh:
        return fh.read()


DB_NODES = {"mariadb-node": lambda: re.search(r"^user=mysql$", read("deploy/images/mariadb-node.cnf"), re.M),
            "postgres-node": lambda: "setpriv --reuid=postgres" in read("deploy/images/postgres-node")}
for t in sorted(targets):
    if t not in stages:
        fail(f"compose builds target {t}, which the Dockerfile does not have")
        continue
    body = stages[t]["lines"]
    users = [l.split()[1] for l in body if l.upper().startswith("USER ")]
    if t in DB_NODES:
        # The entry point starts as root to own its volume, then the server drops to its user.
        if not DB_NODES[t]():
            fail(f"Dockerfile: stage {t}'s server does not drop root")
    elif not users or users[-1] in ("root", "0"):
        fail(f"Dockerfile: stage {t} runs as root")
    if t != "tools" and not any(l.upper().startswith("HEALTHCHECK ") for l in body):
        fail(f"Dockerfile: stage {t} has no HEALTHCHECK")

runtime_packages = set()
for l in stages.get("runtime", {}).get("lines", []):
    if "apt-get install" in l:
        runtime_packages |= {w for w in l.split() if re.match(r"^[a-z0-9][a-z0-9.+-]+$", w)}
BASE = {"libc6", "libstdc++6", "libgcc-s1"}  # in debian:12-slim
binaries = [os.path.join(d, f) for d, _, fs in os.walk(APPS) for f in fs
            if "CMakeFiles" not in d and f != "test-upstream" and os.access(os.path.join(d, f), os.X_OK)
            and open(os.path.join(d, f), "rb").read(4) == b"\x7fELF"]
if len(binaries) < 9:
    fail(f"found {len(binaries)} binaries under {APPS}, want the 9 the images ship")
needed = set()
for b in binaries:
    out = run(["readelf", "-d", b]).stdout
    needed |= set(re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", out))
ldconfig = run(["/sbin/ldconfig", "-p"]).stdout
# A sanitizer build (the asan-ubsan and tsan presets, Debug) links the sanitizers' runtimes
# and libraries an optimised build does not (Boost.Container); the images are built with the
# default preset. Against such a build this part is skipped, and says so.
sanitized = any(re.match(r"lib(asan|ubsan|tsan|lsan)\.so", so) for so in needed)
if sanitized:
    print("runtime library check skipped: the binaries are a sanitizer build, not what the "
          "images ship (run it against the default or release preset)")
    needed = set()
for so in sorted(needed):
    m = re.search(rf"^\s*{re.escape(so)} \(.*?\) => (\S+)$", ldconfig, re.M)
    if not m:
        fail(f"{so}: not found by ldconfig")
        continue
    path = m.group(1)
    owner = run(["dpkg", "-S", path])
    if owner.returncode != 0:
        owner = run(["dpkg", "-S", os.path.realpath(path)])
    if owner.returncode != 0:
        owner = run(["dpkg", "-S", path.replace("/lib/", "/usr/lib/", 1)])
    pkg = owner.stdout.split(":")[0] if owner.returncode == 0 else None
    if pkg is None:
        fail(f"{so}: no Debian package owns {path}")
    elif pkg not in runtime_packages | BASE:
        fail(f"Dockerfile: the runtime stage lacks {pkg} (provides {so})")

for name, svc in services.items():
    for v in svc.get("volumes", []):
        src = v.get("source") if isinstance(v, dict) else v.split(":")[0]
        vtype = v.get("type") if isinstance(v, dict) else ("bind" if src.startswith((".", "/")) else "volume")
        if vtype != "bind":
            continue
        if not os.path.exists(src):
            fail(f"compose: {name} mounts {src}, which does not exist")
        elif "/docker-entrypoint-initdb.d/" not in str(v) and src.endswith(("start", "role")) \
                and not os.access(src, os.X_OK):
            fail(f"compose: {name} runs {src}, which is not executable")

# 5. configurations with the containers' environment
# Each image target: its binary under APPS and the configuration it runs by default.
TARGETS = {"middleware": ("medgate", "medgate.example.yaml"),
           "medical-service": ("medical-service/medical-service", "medical-service.example.yaml"),
           "admin-service": ("admin-service/admin-service", "admin-service.example.yaml"),
           "patient-portal": ("patient-portal/patient-portal", "patient-portal.example.yaml"),
           "db-monitor": ("db-monitor", None)}
# Keys where the configurations look for them (the granted public keys, a portal signing key).
work = tempfile.mkdtemp(prefix="check-deploy-")
atexit.register(shutil.rmtree, work, True)
os.makedirs(f"{work}/secrets/public-keys")
for kid in ("staff-1", "portal-1"):  # the keys the configurations grant
    shutil.copy(f"{SRC}/tests/data/public-keys/{kid}.pub.pem", f"{work}/secrets/public-keys")
run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
     "-out", f"{work}/secrets/portal-1.key.pem"])


def check_config(where, target, config, env):
    """The program's own --check-config on config/CONFIG with exactly ENV (plus PATH, keys)."""
    env = dict(env, PATH=os.environ["PATH"], MEDGATE_STACK_DIR=work, LISTEN_ADDRESS="0.0.0.0")
    r = run([f"{APPS}/{TARGETS[target][0]}", "--config", f"{SRC}/config/{config}",
             "--check-config"], env=env)
    if r.returncode != 0:
        fail(f"{where}: config/{config} with its environment: {r.stderr.strip()}")


checked = 0
for name, svc in services.items():
    target = svc.get("build", {}).get("target")
    if target not in TARGETS:
        continue
    env = {k: str(v) for k, v in (svc.get("environment") or {}).items() if v is not None}
    config = os.path.basename(svc["command"][0] if target == "db-monitor"
                              else env.get("MEDGATE_CONFIG", TARGETS[target][1]))
    check_config(f"compose {name}", target, config, env)
    checked += 1
if checked < 10:
    fail(f"checked {checked} container configurations, want every component's (10)")

# 6. shellcheck
scripts = [f"{SRC}/deploy/compose/{f}" for f in ("monitor-role", "mysql-node-start", "mysql-init.sh",
                                                 "make-secrets", "db-privileges")]
scripts += [f"{SRC}/deploy/compose/postgres/10-medgate-init.sh", f"{SRC}/deploy/images/mariadb-node",
            f"{SRC}/deploy/images/postgres-node", f"{SRC}/scripts/lib/pg-node-start",
            f"{SRC}/scripts/lib/mariadb-node-start", f"{SRC}/tests/compose/compose_test.sh"]
r = run(["shellcheck", "-x", *scripts])
if r.returncode != 0:
    fail(f"shellcheck:\n{r.stdout}")

# 7. Kubernetes manifests
kinds = {}
for f in sorted(os.listdir(f"{SRC}/deploy/kubernetes")):
    with open(f"{SRC}/deploy/kubernetes/{f}") as fh:
        for doc in yaml.safe_load_all(fh):
            if not doc:
                continue
            if not all(k in doc for k in ("apiVersion", "kind")) or not doc.get("metadata", {}).get("name"):
                fail(f"kubernetes/{f}: a document without apiVersion, kind or metadata.name")
                continue
            kinds[(doc["kind"], doc["metadata"]["name"])] = doc
gw = kinds.get(("Deployment", "medgate"))
if not gw:
    fail("kubernetes: no Deployment named medgate")
else:
    c = gw["spec"]["template"]["spec"]["containers"][0]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        if probe not in c:
            fail(f"kubernetes: the medgate Deployment has no {probe}")
    if gw["spec"].get("replicas", 1) < 2:
        fail("kubernetes: medgate runs fewer than 2 replicas")
if ("PodDisruptionBudget", "medgate") not in kinds:
    fail("kubernetes: no PodDisruptionBudget for medgate")

# The Deployments' configurations with their environment too (secrets as placeholders).
for (kind, name), doc in kinds.items():
    if kind != "Deployment":
        continue
    c = doc["spec"]["template"]["spec"]["containers"][0]
    target = next((t for t in TARGETS if c["image"] == f"medgate/{t}:local"), None)
    if target is None or TARGETS[target][1] is None:
        fail(f"kubernetes: Deployment {name} runs an image this check does not know: {c['image']}")
        continue
    config = TARGETS[target][1]
    if "--config" in c.get("command", []):
        config = os.path.basename(c["command"][c["command"].index("--config") + 1])
    env = {e["name"]: str(e.get("value", "placeholder-secret-0123456789")) for e in c.get("env", [])}
    check_config(f"kubernetes Deployment {name}", target, config, env)

for f in failures:
    print(f"FAIL {f}", file=sys.stderr)
if not failures:
    print(f"deploy checks passed: {len(services)} compose services, {len(stages)} Dockerfile stages, "
          f"{len(needed)} linked libraries, {len(kinds)} Kubernetes objects")
sys.exit(1 if failures else 0)

#!/usr/bin/env python3
"""Checks of the deploy/ files that need no Docker engine and no Kubernetes cluster (ctest label `deploy`).

  check_deploy.py k8s      SOURCE GATEHOUSE   the manifests parse, hang together (labels, ports, probes, grace
                                              period vs shutdown_drain) and the ConfigMap's TOML passes `gatehouse check`
  check_deploy.py compose  SOURCE GATEHOUSE   `docker-compose config` accepts the file; the seed's cluster environment;
                                              gatehouse targets port 13000 of each node; its TOML passes `gatehouse check`
  check_deploy.py docker   SOURCE GATEHOUSE   the Dockerfile: two Debian 12 stages, non-root, HEALTHCHECK on /healthz
  check_deploy.py package  SOURCE GATEHOUSE BUILD_DIR   cpack -G DEB; dpkg-deb -c/-I; the unpacked binary runs

Node host names (resolved by gatehouse when it loads a file) are replaced by 127.0.0.1 for `gatehouse check`: this
machine cannot resolve the cluster's names. Exit status 1 and one line per failure when anything is wrong.
"""
import os
import re
import subprocess
import sys
import tempfile
import tomllib

import yaml

failures = []


def expect(condition, message):
    if not condition:
        failures.append(message)
    return condition


def run(args, env=None, cwd=None, timeout=120):
    return subprocess.run(args, env=env, cwd=cwd, timeout=timeout, capture_output=True, text=True)


def gatehouse_check(gatehouse, toml_text, files, what, env=None):
    """Writes the TOML (node names -> 127.0.0.1) and `files` to a scratch directory and runs gatehouse check."""
    text = re.sub(r'address = "[A-Za-z0-9.-]+:(\d+)"', r'address = "127.0.0.1:\1"', toml_text)
    with tempfile.TemporaryDirectory(prefix="gatehouse-deploy-") as d:
        path = os.path.join(d, "gatehouse.toml")
        with open(path, "w") as f:
            f.write(text)
        for name, content in files.items():
            with open(os.path.join(d, name), "w") as f:
                f.write(content)
        r = run([gatehouse, "check", "-c", path], env={**os.environ, **(env or {})})
    expect(r.returncode == 0 and "configuration OK" in r.stdout,
           f"{what}: gatehouse check failed: {r.stdout}{r.stderr}")


def volume(entry):
    """(source, target) of a compose volume, short ("src:dst:mode") or long syntax."""
    if isinstance(entry, str):
        parts = entry.split(":")
        return parts[0], parts[1]
    return entry["source"], entry["target"]


def port_of(address):
    return int(address.rsplit(":", 1)[1])


def seconds_of(duration):
    m = re.fullmatch(r"(\d+)(ms|s|m|h)", duration)
    return int(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def check_k8s(source, gatehouse):
    k8s = os.path.join(source, "deploy/k8s")
    kustomization = yaml.safe_load(open(os.path.join(k8s, "kustomization.yaml")))
    docs = {}
    for name in kustomization["resources"]:
        for doc in yaml.safe_load_all(open(os.path.join(k8s, name))):
            docs[doc["kind"]] = doc
    expect(set(docs) == {"ConfigMap", "Deployment", "Service", "PodDisruptionBudget", "ServiceMonitor"},
           f"k8s: kinds {sorted(docs)}")
    cm, dep, svc = docs["ConfigMap"], docs["Deployment"], docs["Service"]
    cfg = tomllib.loads(cm["data"]["gatehouse.toml"])
    spec = dep["spec"]
    pod = spec["template"]["spec"]
    labels = spec["template"]["metadata"]["labels"]
    c = pod["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    expect(spec["replicas"] == 2, "k8s: Deployment replicas != 2")
    expect(spec["selector"]["matchLabels"].items() <= labels.items(), "k8s: Deployment selector vs pod labels")
    for probe in ("readinessProbe", "livenessProbe"):
        get = c[probe]["httpGet"]
        expect(get["path"] == "/healthz", f"k8s: {probe} path {get['path']}")
        expect(ports.get(get["port"]) == port_of(cfg["metrics"]["listen"]),
               f"k8s: {probe} port is not metrics.listen's")
    expect(ports.get("http") == port_of(cfg["proxy"]["listen"][0]), "k8s: containerPort http is not proxy.listen's")
    pre_stop = int(c["lifecycle"]["preStop"]["exec"]["command"][1])
    drain = seconds_of(cfg["timeouts"]["shutdown_drain"])
    expect(pod["terminationGracePeriodSeconds"] > pre_stop + drain,
           f"k8s: terminationGracePeriodSeconds {pod['terminationGracePeriodSeconds']} <= preStop {pre_stop} + "
           f"shutdown_drain {drain}")
    env = {e["name"]: e for e in c["env"]}
    expect(cfg["admin"]["token_env"] in env, "k8s: admin.token_env is not in the container's environment")
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    expect(c["args"][-1] == mounts["config"] + "/gatehouse.toml", "k8s: -c is not the mounted ConfigMap's file")
    expect(volumes["config"]["configMap"]["name"] == cm["metadata"]["name"], "k8s: config volume's ConfigMap")
    expect(os.path.dirname(cfg["maintenance"]["state_file"]) in mounts.values(), "k8s: state_file not on a volume")
    expect(svc["spec"]["selector"].items() <= labels.items(), "k8s: Service selector vs pod labels")
    expect({p["targetPort"] for p in svc["spec"]["ports"]} <= set(ports), "k8s: Service targetPort names")
    pdb = docs["PodDisruptionBudget"]["spec"]
    expect(pdb["selector"]["matchLabels"].items() <= labels.items() and pdb["minAvailable"] == 1, "k8s: PDB")
    sm = docs["ServiceMonitor"]["spec"]
    expect(sm["selector"]["matchLabels"].items() <= svc["metadata"]["labels"].items(), "k8s: ServiceMonitor selector")
    expect(sm["endpoints"][0]["port"] in {p["name"] for p in svc["spec"]["ports"]} and
           sm["endpoints"][0]["path"] == "/metrics", "k8s: ServiceMonitor endpoint")
    gatehouse_check(gatehouse, cm["data"]["gatehouse.toml"], {"maintenance.html": cm["data"]["maintenance.html"]},
                    "k8s ConfigMap", {cfg["admin"]["token_env"]: "k" * 64})


SEED_ENV = {
    "CACHE_DEFAULT_STORE": "redis",
    "CACHE_REDIS_URL": "redis://redis:6379/0",
    "PUBSUB_ADAPTER_REDIS_URL": "redis://redis:6379/1",
    "LOCK_ADAPTER_DEFAULT": "redis",
    "LOCK_ADAPTER_REDIS_URL": "redis://redis:6379/2",
    "APPEND_PRESET_BUILT_IN_PLUGINS": "lock-adapter-redis,pubsub-adapter-redis",
}


def check_compose(source, gatehouse):
    compose = os.path.join(source, "deploy/compose")
    base = {k: v for k, v in os.environ.items() if k not in ("APP_KEY", "DB_PASSWORD")}
    r = run(["docker-compose", "-f", "docker-compose.yml", "config"], env={**base, "DB_PASSWORD": "p"}, cwd=compose)
    expect(r.returncode != 0 and "APP_KEY" in r.stderr, "compose: config without APP_KEY must fail naming it")
    r = run(["docker-compose", "-f", "docker-compose.yml", "config"],
            env={**base, "APP_KEY": "test-key", "DB_PASSWORD": "test-password"}, cwd=compose)
    if not expect(r.returncode == 0, f"compose: docker-compose config failed: {r.stderr}"):
        return
    services = yaml.safe_load(r.stdout)["services"]
    nodes = [f"nocobase-{i}" for i in (1, 2, 3)]
    expect(set(services) == {"postgres", "redis", "gatehouse", *nodes}, f"compose: services {sorted(services)}")
    for n in nodes:
        env = services[n]["environment"]
        for key, value in SEED_ENV.items():
            expect(env.get(key) == value, f"compose: {n} {key}={env.get(key)!r}, the seed says {value!r}")
        expect(env.get("APP_KEY") == "test-key", f"compose: {n} APP_KEY")
        expect(("storage", "/app/nocobase/storage") in [volume(v) for v in services[n]["volumes"]],
               f"compose: {n} does not mount the shared storage volume")
        expect(services[n]["image"].startswith("nocobase/nocobase"), f"compose: {n} image")
    for n in nodes[1:]:
        expect(services[n]["depends_on"]["nocobase-1"]["condition"] == "service_healthy",
               f"compose: {n} must wait for nocobase-1 (first start: one node first)")
    g = services["gatehouse"]
    mount = next(volume(v)[0] for v in g["volumes"] if volume(v)[1] == "/etc/gatehouse/gatehouse.toml")
    toml_text = open(os.path.join(compose, "gatehouse.toml")).read()
    expect(os.path.realpath(mount) == os.path.realpath(os.path.join(compose, "gatehouse.toml")),
           "compose: gatehouse does not mount deploy/compose/gatehouse.toml")
    cfg = tomllib.loads(toml_text)
    expect([x["address"] for x in cfg["upstream"]["node"]] == [f"{n}:13000" for n in nodes],
           "compose: gatehouse must target port 13000 of each node")
    expect(cfg["health_check"]["path"] == "/api/__health_check", "compose: health check path")
    expect(g["ports"][0]["target"] == port_of(cfg["proxy"]["listen"][0]), "compose: published port vs proxy.listen")
    with open(os.path.join(source, "conf/maintenance.html")) as f:
        gatehouse_check(gatehouse, toml_text, {"maintenance.html": f.read()}, "compose gatehouse.toml")


def check_docker(source, gatehouse):
    text = open(os.path.join(source, "deploy/docker/Dockerfile")).read()
    stages = re.findall(r"^FROM (\S+)", text, re.M)
    expect(len(stages) == 2 and all(s.startswith("debian:12") for s in stages), f"docker: stages {stages}")
    user = re.findall(r"^USER (\S+)", text, re.M)
    expect(user and user[-1] not in ("root", "0"), "docker: the runtime must not run as root")
    health = re.search(r"^HEALTHCHECK .*?CMD (.*)$", text, re.M | re.S)
    admin_port = port_of(tomllib.load(open(os.path.join(source, "conf/gatehouse.toml"), "rb"))["admin"]["listen"])
    expect(health and "/healthz" in health.group(1) and f"/127.0.0.1/{admin_port}" in health.group(1),
           "docker: HEALTHCHECK must ask the admin listener's /healthz")


def check_package(source, gatehouse, build):
    with tempfile.TemporaryDirectory(prefix="gatehouse-deb-") as d:
        r = run(["cpack", "-G", "DEB", "--config", os.path.join(build, "CPackConfig.cmake"), "-B", d], cwd=build,
                timeout=300)
        debs = [f for f in os.listdir(d) if f.endswith(".deb")]
        if not expect(r.returncode == 0 and len(debs) == 1, f"package: cpack failed: {r.stdout}{r.stderr}"):
            return
        deb = os.path.join(d, debs[0])
        listing = run(["dpkg-deb", "-c", deb]).stdout
        for path in ("./usr/bin/gatehouse", "./etc/gatehouse/gatehouse.toml", "./etc/gatehouse/maintenance.html",
                     "./lib/systemd/system/gatehouse.service", "./etc/logrotate.d/gatehouse",
                     "./usr/share/doc/gatehouse/README.md"):
            expect(re.search(re.escape(path) + "$", listing, re.M), f"package: {path} missing:\n{listing}")
        info = run(["dpkg-deb", "-I", deb]).stdout
        for part in ("conffiles", "postinst", "prerm", "postrm", "Depends:", "adduser", "libsystemd0"):
            expect(part in info, f"package: control has no {part}:\n{info}")
        control = os.path.join(d, "control")
        run(["dpkg-deb", "-e", deb, control])
        conffiles = open(os.path.join(control, "conffiles")).read().split()
        expect("/etc/gatehouse/gatehouse.toml" in conffiles, "package: gatehouse.toml is not a conffile")
        for script in ("postinst", "prerm", "postrm"):
            r = run(["sh", "-n", os.path.join(control, script)])
            expect(r.returncode == 0 and os.access(os.path.join(control, script), os.X_OK),
                   f"package: {script} is not an executable shell script: {r.stderr}")
        postinst = open(os.path.join(control, "postinst")).read()
        expect("adduser --system" in postinst and "chmod 0640 /etc/gatehouse/gatehouse.env" in postinst,
               "package: postinst must create the user and keep the token file 0640")
        check_maintainer_scripts(control, d)
        root = os.path.join(d, "root")
        run(["dpkg-deb", "-x", deb, root])
        v = run([os.path.join(root, "usr/bin/gatehouse"), "--version"])
        expect(v.returncode == 0 and v.stdout.startswith("gatehouse "), f"package: --version: {v.stdout}{v.stderr}")
        unit = open(os.path.join(root, "lib/systemd/system/gatehouse.service")).read()
        expect("ExecStart=/usr/bin/gatehouse serve -c /etc/gatehouse/gatehouse.toml" in unit and "/usr/local" not in unit,
               "package: the unit must run /usr/bin/gatehouse")
        rotate = open(os.path.join(root, "etc/logrotate.d/gatehouse")).read()
        expect("--signal=USR1 gatehouse.service" in rotate and "create 0640 " in rotate,
               "package: logrotate must reopen with SIGUSR1 and create files 0640")
        # logrotate parses it (debug mode: nothing is rotated); the gatehouse user does not exist here.
        with open(os.path.join(d, "logrotate.conf"), "w") as f:
            f.write(rotate.replace("gatehouse adm", "root root"))
        r = run(["logrotate", "-d", "-s", os.path.join(d, "state"), os.path.join(d, "logrotate.conf")])
        expect(r.returncode == 0 and "error" not in r.stderr.lower(), f"package: logrotate -d: {r.stderr}")
        if os.access("/usr/bin/systemd-analyze", os.X_OK):
            r = run(["/usr/bin/systemd-analyze", "verify", os.path.join(root, "lib/systemd/system/gatehouse.service")])
            for bad in ("Unknown key", "Unknown section", "Failed to parse", "Invalid", "unknown"):
                expect(bad not in r.stdout + r.stderr, f"package: systemd-analyze verify: {r.stdout}{r.stderr}")


MAINTAINER_RUN = """set -e
for m in "etc:/etc" "varlib:/var/lib" "varlog:/var/log" "run:/run"; do mount --bind "$W/${m%%:*}" "${m#*:}"; done
mkdir -p /etc/gatehouse
sh "$C/postinst" configure
chmod 0644 /etc/gatehouse/gatehouse.env            # an operator's mistake, mended by the next upgrade
sh "$C/postinst" configure 0.0.9
getent passwd gatehouse | cut -d: -f7
stat -c '%a %U %G %n' /etc/gatehouse/gatehouse.env /var/lib/gatehouse /var/log/gatehouse
sh "$C/prerm" remove && sh "$C/postrm" purge
test ! -e /var/lib/gatehouse && test ! -e /etc/gatehouse/gatehouse.env && echo purged
"""


def check_maintainer_scripts(control, scratch):
    """Runs postinst (install, then upgrade), prerm and postrm purge in a private mount namespace over copies of /etc,
    /var/lib, /var/log and an empty /run (no systemd): this machine's users and files are untouched."""
    if os.geteuid() != 0 or run(["unshare", "-m", "true"]).returncode != 0:
        print("maintainer scripts not run: needs root and a mount namespace (unshare -m)")
        return
    w = os.path.join(scratch, "ns")
    for sub in ("varlib", "varlog", "run"):
        os.makedirs(os.path.join(w, sub))
    run(["cp", "-a", "/etc", os.path.join(w, "etc")])
    r = run(["unshare", "-m", "sh", "-c", MAINTAINER_RUN], env={**os.environ, "W": w, "C": control})
    out = r.stdout
    expect(r.returncode == 0, f"package: maintainer scripts failed: {out}{r.stderr}")
    for line in ("/usr/sbin/nologin", "640 root gatehouse /etc/gatehouse/gatehouse.env",
                 "750 gatehouse gatehouse /var/lib/gatehouse", "750 gatehouse adm /var/log/gatehouse", "purged"):
        expect(line in out, f"package: maintainer scripts: no {line!r} in:\n{out}{r.stderr}")


def main():
    what, source, gatehouse = sys.argv[1], sys.argv[2], sys.argv[3]
    checks = {"k8s": check_k8s, "compose": check_compose, "docker": check_docker, "package": check_package}
    checks[what](source, gatehouse, *(sys.argv[4:] if what == "package" else []))
    for f in failures:
        print("FAILED:", f)
    print(f"{what}: {'ok' if not failures else str(len(failures)) + ' failure(s)'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

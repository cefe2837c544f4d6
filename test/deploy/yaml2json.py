"""YAML → JSON for scripts/deploy-check.sh (runs in its venv, which has PyYAML).

  yaml2json.py compose RENDERED.yml OUT.json
      `docker-compose config` output → {"compose": <file>, "mounts": {<host path>: <parsed YAML>}}
      (every bind-mounted .yml/.yaml file that exists, e.g. the Jaeger and Prometheus configs)
  yaml2json.py k8s RENDERED.yml OUT.json
      `kubectl kustomize` output → [<objects>]; each ConfigMap's .yml/.yaml data keys are also
      parsed into "x-parsed": {<key>: <parsed YAML>}
  yaml2json.py file IN.yml OUT.json
      one YAML document → JSON
"""

import json
import os
import sys

import yaml


def bind_sources(service):
    for v in service.get("volumes") or []:
        if isinstance(v, str):
            parts = v.split(":")
            if len(parts) >= 2 and (parts[0].startswith("/") or parts[0].startswith(".")):
                yield parts[0]
        elif isinstance(v, dict) and v.get("type") == "bind":
            yield v.get("source", "")


def main():
    mode, src, out = sys.argv[1:4]
    with open(src, encoding="utf-8") as f:
        if mode == "k8s":
            docs = [d for d in yaml.safe_load_all(f) if d]
            for d in docs:
                if d.get("kind") == "ConfigMap":
                    parsed = {}
                    for key, text in (d.get("data") or {}).items():
                        if key.endswith((".yml", ".yaml")):
                            parsed[key] = yaml.safe_load(text)
                    d["x-parsed"] = parsed
            result = docs
        elif mode == "compose":
            compose = yaml.safe_load(f)
            mounts = {}
            for service in (compose.get("services") or {}).values():
                for source in bind_sources(service):
                    if source.endswith((".yml", ".yaml")) and os.path.isfile(source):
                        with open(source, encoding="utf-8") as m:
                            mounts[source] = yaml.safe_load(m)
            result = {"compose": compose, "mounts": mounts}
        elif mode == "file":
            result = yaml.safe_load(f)
        else:
            sys.exit(f"unknown mode {mode}")
    with open(out, "w", encoding="utf-8") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()

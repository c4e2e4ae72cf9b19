"""Reads a (simple, two-stage) Dockerfile the way `docker build` would and prints what
container.sh needs as shell assignments (eval them), so the check runs the file's own commands:

    dockerfile.py Dockerfile   ->  DF_BUILD_FROM DF_BUILD_NAME DF_BUILD_WORKDIR DF_BUILD_RUN DF_RUN_FROM
                                   DF_RUN_RUN DF_COPIES DF_USER DF_ENTRYPOINT DF_CMD DF_ENV DF_EXPOSE
                                   (bash arrays where Docker has lists)

Refuses (exit 1, saying why) what it does not understand rather than guess: shell-form
ENTRYPOINT/CMD, ARG, more or fewer than two stages, more than one RUN in a stage.
"""
import json
import shlex
import sys


def instructions(text):
    """(keyword, argument) pairs: comments dropped, backslash continuations joined."""
    out, current = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):  # a comment inside a continued instruction
            continue
        if line.endswith("\\"):
            current += line[:-1].rstrip() + " "
            continue
        current += line
        keyword, _, arg = current.partition(" ")
        out.append((keyword.upper(), arg.strip()))
        current = ""
    if current:
        raise ValueError("the file ends inside a continued instruction")
    return out


def env_pairs(arg):
    words = shlex.split(arg)
    if words and all("=" in w for w in words):
        return [tuple(w.split("=", 1)) for w in words]
    if len(words) >= 2 and "=" not in words[0]:  # legacy form: ENV KEY value with spaces
        return [(words[0], arg.split(None, 1)[1])]
    raise ValueError(f"ENV {arg!r} is neither KEY=VALUE pairs nor KEY VALUE")


def exec_form(keyword, arg):
    try:
        value = json.loads(arg)
    except json.JSONDecodeError:
        raise ValueError(f"{keyword} {arg} is in shell form; only the exec (JSON) form is understood") from None
    if not (isinstance(value, list) and value and all(isinstance(v, str) for v in value)):
        raise ValueError(f"{keyword} must be a non-empty JSON list of strings")
    return value


def parse(text):
    stages = []
    for keyword, arg in instructions(text):
        if keyword == "FROM":
            stages.append({"from": arg, "run": [], "copy": [], "env": [], "expose": [], "workdir": "/"})
            continue
        if not stages:
            raise ValueError(f"{keyword} before the first FROM")
        stage = stages[-1]
        if keyword == "RUN":
            stage["run"].append(arg)
        elif keyword == "WORKDIR":
            stage["workdir"] = arg
        elif keyword == "COPY":
            words = shlex.split(arg)
            source = [w.split("=", 1)[1] for w in words if w.startswith("--from=")]
            paths = [w for w in words if not w.startswith("--")]
            if len(paths) != 2:
                raise ValueError(f"COPY {arg!r}: only one source and one destination are understood")
            stage["copy"].append((source[0] if source else "", paths[0], paths[1]))
        elif keyword == "ENV":
            stage["env"] += env_pairs(arg)
        elif keyword == "EXPOSE":
            stage["expose"] += arg.split()
        elif keyword == "USER":
            stage["user"] = arg
        elif keyword in ("ENTRYPOINT", "CMD"):
            stage[keyword.lower()] = exec_form(keyword, arg)
        else:
            raise ValueError(f"{keyword} is not understood by this check; teach scripts/infra/dockerfile.py")
    if len(stages) != 2:
        raise ValueError(f"expected two stages (build, runtime), found {len(stages)}")
    build, runtime = stages
    for name, stage in (("build", build), ("runtime", runtime)):
        if len(stage["run"]) != 1:
            raise ValueError(f"expected one RUN in the {name} stage, found {len(stage['run'])}")
    return build, runtime


def shell(name, value):
    if isinstance(value, list):
        return f"{name}=({' '.join(shlex.quote(v) for v in value)})"
    return f"{name}={shlex.quote(value)}"


def main(path):
    with open(path) as f:
        try:
            build, runtime = parse(f.read())
        except ValueError as e:
            print(f"{path}: {e}", file=sys.stderr)
            return 1
    words = build["from"].split()
    build_name = words[2] if len(words) == 3 and words[1].lower() == "as" else ""
    lines = [
        shell("DF_BUILD_FROM", build["from"].split()[0]),
        shell("DF_BUILD_NAME", build_name),
        shell("DF_BUILD_WORKDIR", build["workdir"]),
        shell("DF_BUILD_RUN", build["run"][0]),
        shell("DF_RUN_FROM", runtime["from"].split()[0]),
        shell("DF_RUN_RUN", runtime["run"][0]),
        shell("DF_COPIES", [f"{src}:{a}:{b}" for src, a, b in runtime["copy"]]),
        shell("DF_USER", runtime.get("user", "root")),
        shell("DF_ENTRYPOINT", runtime.get("entrypoint", [])),
        shell("DF_CMD", runtime.get("cmd", [])),
        shell("DF_ENV", [f"{k}={v}" for k, v in runtime["env"]]),
        shell("DF_EXPOSE", runtime["expose"]),
    ]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))

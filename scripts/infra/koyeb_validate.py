"""Checks a Koyeb service definition (YAML) against koyeb.schema.json, the fields Koyeb documents,
plus what JSON Schema cannot say: a health check's port must be one the service declares.

    koyeb_validate.py SCHEMA FILE    prints each problem with its place in the file; exit 1 if any
"""
import json
import sys

import jsonschema
import yaml


def problems(schema, definition):
    validator = jsonschema.Draft202012Validator(schema)
    for error in sorted(validator.iter_errors(definition), key=lambda e: list(e.absolute_path)):
        place = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        if error.schema is False and isinstance(definition, dict):
            # a field the schema forbids outright (ports and health checks on a non-web service)
            fields = [k for k, v in definition.items() if v is error.instance] or ["a field"]
            yield f"{fields[0]}: Koyeb accepts it on services of type WEB only, not {definition.get('type')!r}"
            continue
        yield f"{place}: {error.message}"
    if not isinstance(definition, dict):
        return
    declared = {p.get("port") for p in definition.get("ports") or [] if isinstance(p, dict)}
    for i, check in enumerate(definition.get("health_checks") or []):
        for kind in ("http", "tcp"):
            probe = check.get(kind) if isinstance(check, dict) else None
            if isinstance(probe, dict) and probe.get("port") not in declared:
                yield f"health_checks/{i}/{kind}/port: {probe.get('port')} is not declared in ports (Koyeb requires it)"


def main(schema_path, file_path):
    with open(schema_path) as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    with open(file_path) as f:
        try:
            definition = yaml.safe_load(f)
        except yaml.YAMLError as e:
            print(f"{file_path}: not YAML: {e}", file=sys.stderr)
            return 1
    found = list(problems(schema, definition))
    for p in found:
        print(f"{file_path}: {p}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))

#!/usr/bin/env python3
"""Asserts the security properties of the compiled ARM template (infra/main.bicep built to JSON).

Usage: check-security.py main.json. Called by infra/lint.sh (and so by ./test.sh). Each check names the
property of docs/security.md it proves; plain `[parameters('x')]` values are followed to the caller's value
or the parameter's default, so the checks see what a deployment with default parameters gets.
"""
import json
import re
import sys

PARAM = re.compile(r"^\[parameters\('(\w+)'\)\]$")


def resolve(value, scope):
    if isinstance(value, str):
        m = PARAM.match(value)
        if m and m.group(1) in scope:
            return scope[m.group(1)]
        return value
    if isinstance(value, list):
        return [resolve(v, scope) for v in value]
    if isinstance(value, dict):
        return {k: resolve(v, scope) for k, v in value.items()}
    return value


def collect(template, scope, module, out):
    """Every resource of the template and its nested deployments, with parameters resolved."""
    variables = template.get("variables", {})
    resources = template["resources"]
    for r in resources.values() if isinstance(resources, dict) else resources:
        if r["type"] == "Microsoft.Resources/deployments" and "template" in r.get("properties", {}):
            inner = r["properties"]["template"]
            passed = {k: resolve(v.get("value"), scope) for k, v in r["properties"].get("parameters", {}).items() if isinstance(v, dict)}
            inner_scope = {k: p.get("defaultValue") for k, p in inner.get("parameters", {}).items()}
            inner_scope.update({k: v for k, v in passed.items() if v is not None})
            collect(inner, inner_scope, r["name"], out)
        out.append({"module": module, "type": r["type"], "name": r.get("name"), "scope": r.get("scope", ""),
                    "properties": resolve(r.get("properties", {}), scope), "variables": variables})


def main(path):
    template = json.load(open(path))
    scope = {k: p.get("defaultValue") for k, p in template.get("parameters", {}).items()}
    resources = []
    collect(template, scope, "main", resources)
    failures = []

    def check(label, ok):
        print(f"  {'ok  ' if ok else 'FAIL'} {label}")
        if not ok:
            failures.append(label)

    def of_type(t, module=None):
        return [r for r in resources if r["type"] == t and (module is None or r["module"] == module)]

    def one(t, module=None):
        found = of_type(t, module)
        return found[0]["properties"] if len(found) == 1 else {}

    account = one("Microsoft.Storage/storageAccounts", "storage")
    check("storage: publicNetworkAccess Disabled by default", account.get("publicNetworkAccess") == "Disabled")
    check("storage: firewall defaultAction Deny", account.get("networkAcls", {}).get("defaultAction") == "Deny")
    check("storage: shared-key access off", account.get("allowSharedKeyAccess") is False)

    blob = one("Microsoft.Storage/storageAccounts/blobServices", "storage")
    check("storage: blob versioning on", blob.get("isVersioningEnabled") is True)
    check("storage: blob soft delete on", blob.get("deleteRetentionPolicy", {}).get("enabled") is True)

    endpoints = of_type("Microsoft.Network/privateEndpoints", "network")
    services = endpoints[0]["variables"].get("storageServices") if len(endpoints) == 1 else None
    group_ids = json.dumps(endpoints[0]["properties"]) if endpoints else ""
    check("storage: private endpoints for blob, queue and table",
          services == ["blob", "queue", "table"] and "variables('storageServices')[copyIndex()]" in group_ids)

    rules = one("Microsoft.Storage/storageAccounts/managementPolicies", "storage").get("policy", {}).get("rules", [])
    deletes = [r["definition"]["actions"]["baseBlob"]["delete"].get("daysAfterModificationGreaterThan") for r in rules]
    prefixes = [p for r in rules for p in r["definition"]["filters"].get("prefixMatch", [])]
    check("storage: lifecycle deletes scans after 30 days by default", deletes == [30] and set(prefixes) == {"chest/", "ct-scans/"})

    audited = {}
    for d in of_type("Microsoft.Insights/diagnosticSettings", "storage"):
        service = next((s for s in ("blobServices", "queueServices", "tableServices") if s in d["scope"]), None)
        audited[service] = {l["category"] for l in d["properties"].get("logs", []) if l.get("enabled")}
    for service in ("blobServices", "queueServices", "tableServices"):
        check(f"storage: {service} StorageRead/Write/Delete to Log Analytics",
              audited.get(service) == {"StorageRead", "StorageWrite", "StorageDelete"})

    function_logs = of_type("Microsoft.Insights/diagnosticSettings", "functions")
    check("function app: FunctionAppLogs to Log Analytics",
          any(l.get("category") == "FunctionAppLogs" and l.get("enabled") for d in function_logs for l in d["properties"]["logs"]))
    worker_logs = of_type("Microsoft.Insights/diagnosticSettings", "worker")
    check("worker: its environment's logs (allLogs) to Log Analytics",
          any(l.get("categoryGroup") == "allLogs" and l.get("enabled") for d in worker_logs for l in d["properties"]["logs"]))

    auth = one("Microsoft.Web/sites/config", "functions")
    validation = auth.get("globalValidation", {})
    check("function app: Easy Auth requireAuthentication on", validation.get("requireAuthentication") is True)
    check("function app: anonymous requests get 401", validation.get("unauthenticatedClientAction") == "Return401")
    check("function app: Entra ID provider enabled", auth.get("identityProviders", {}).get("azureActiveDirectory", {}).get("enabled") is True)
    check("function app: only the blob extension's webhook is exempt", validation.get("excludedPaths") == ["/runtime/webhooks/blobs"])

    site = one("Microsoft.Web/sites", "functions")
    check("function app: VNet integration subnet set", bool(site.get("virtualNetworkSubnetId")))
    settings = {s["name"] for s in site.get("siteConfig", {}).get("appSettings", [])}
    check("function app: sends worker tokens (WorkerToken__Scope)", "WorkerToken__Scope" in settings)
    check("function app: API role checks and access log on (no ApiAccess opt-out)", not any(s.startswith("ApiAccess__Disabled") for s in settings))

    environment = one("Microsoft.App/managedEnvironments", "worker")
    check("worker: Container Apps environment internal to the VNet",
          environment.get("vnetConfiguration", {}).get("internal") is True and bool(environment["vnetConfiguration"].get("infrastructureSubnetId")))
    app = one("Microsoft.App/containerApps", "worker")
    env = {e["name"] for c in app.get("template", {}).get("containers", []) for e in c.get("env", [])}
    check("worker: token check configured (WorkerAuth__TenantId, WorkerAuth__Audience)", {"WorkerAuth__TenantId", "WorkerAuth__Audience"} <= env)
    check("worker: no WorkerAuth opt-out in the deployment", not any(e.startswith("WorkerAuth__Disabled") for e in env))
    check("worker: no plain-http ingress", app.get("configuration", {}).get("ingress", {}).get("allowInsecure") is False)

    if failures:
        print(f"check-security.py: {len(failures)} security propert{'y' if len(failures) == 1 else 'ies'} missing from {path}", file=sys.stderr)
        return 1
    print(f"check-security.py: all security properties hold in the compiled template")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

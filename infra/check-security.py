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

# Azure Storage data-plane roles (blob, queue, table; reader, contributor, owner).
STORAGE_DATA_ROLES = {
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
    "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1": "Storage Blob Data Reader",
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
    "19e7f393-937e-4f77-808e-94535e297925": "Storage Queue Data Reader",
    "8a0f0c08-91a1-4084-bc3d-661d67233fed": "Storage Queue Data Message Processor",
    "c6a89b2d-59bc-44d0-9896-0f6e12d7b80a": "Storage Queue Data Message Sender",
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
    "76199698-9eea-4c19-bc75-cec21354c6b6": "Storage Table Data Reader",
}

# Data-plane role assignments allowed on the whole account: (role, the `enabled` value) -> why.
ACCOUNT_WIDE_ALLOWED = {
    ("Storage Blob Data Owner", "[parameters('grantAccountWideBlobOwner')]"):
        "opt-in (grantAccountWideBlobOwner, off by default) for a Functions host that must create containers of its own",
}


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
        out.append({"module": module, "type": r["type"], "name": r.get("name"), "scope": r.get("scope", ""), "condition": r.get("condition"), "parameters": scope,
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
    check("storage: lifecycle deletes scans and heatmaps after 30 days by default",
          deletes == [30] and set(prefixes) == {"chest/", "ct-scans/", "heatmaps/"})

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
    app_settings = {s["name"]: s.get("value") for s in site.get("siteConfig", {}).get("appSettings", [])}
    settings = set(app_settings)
    site_parameters = next((r["parameters"] for r in of_type("Microsoft.Web/sites", "functions")), {})
    retention = re.match(r"^\[string\(parameters\('(\w+)'\)\)\]$", str(app_settings.get("Results__RetentionDays")))
    check("function app: result rows swept after the scans' retention (Results__RetentionDays = lifecycle days)",
          retention is not None and [site_parameters.get(retention.group(1))] == deletes)
    check("function app: host id stated (AzureFunctionsWebHost__hostid), so its blob-trigger queue is known and its role scoped",
          bool(app_settings.get("AzureFunctionsWebHost__hostid")))
    check("function app: host diagnostic-event tables off (table roles are scoped to the result tables)",
          "DisableDiagnosticEventLogging" in str(app_settings.get("AzureWebJobsFeatureFlags")))
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

    check_storage_role_scopes(template, resources, check)

    if failures:
        print(f"check-security.py: {len(failures)} security propert{'y' if len(failures) == 1 else 'ies'} missing from {path}", file=sys.stderr)
        return 1
    print(f"check-security.py: all security properties hold in the compiled template")
    return 0


def check_storage_role_scopes(template, resources, check):
    """Every storage data-plane role assignment is scoped to a container, queue or table (or allowed above)."""
    # Only storage-access.bicep names a storage data role: nothing else can assign one unseen by what follows.
    access = [r for r in resources if r["module"] == "storage-access"]
    roles = access[0]["variables"].get("roles", {}) if access else {}
    text = json.dumps(template)
    named_elsewhere = sum(text.count(guid) for guid in STORAGE_DATA_ROLES) - sum(1 for v in roles.values() if v in STORAGE_DATA_ROLES)
    check("storage roles: only storage-access.bicep names a storage data role", bool(roles) and named_elsewhere == 0)

    by_reference = {f"[variables('roles').{k}]": STORAGE_DATA_ROLES.get(v, v) for k, v in roles.items()}
    assignments = access[0]["variables"].get("assignments", []) if access else []
    loops = [r for r in access if r["type"] == "Microsoft.Resources/deployments" and "storage-role" in str(r["name"])]
    check("storage roles: every assignment goes through storage-role.bicep, one per listed scope",
          len(loops) == 1 and bool(assignments) and "variables('assignments')" in json.dumps(loops[0]["properties"]))
    for a in assignments:
        role = by_reference.get(a.get("role"), a.get("role"))
        label = f"{role} on {a.get('kind')} {a.get('name') or ''}".strip()
        if a.get("kind") in ("container", "queue", "table"):
            check(f"storage roles: {label} is scoped to that {a['kind']}", bool(a.get("name")))
        else:
            why = ACCOUNT_WIDE_ALLOWED.get((role, a.get("enabled")))
            check(f"storage roles: {label} account-wide: {why or 'NOT ALLOWED'}", why is not None)

    # storage-role.bicep: each assignment's scope is the resource its scopeKind names; account only for 'account'.
    role_resources = [r for r in resources if r["type"] == "Microsoft.Authorization/roleAssignments" and "storage-role" in str(r["module"])]
    kinds = (("container", "blobServices/containers'"), ("queue", "queueServices/queues'"), ("table", "tableServices/tables'"),
             ("account", "Microsoft.Storage/storageAccounts'"))
    scoped = set()
    unknown = [r["scope"] for r in role_resources if not any(resource_type in r["scope"] for _, resource_type in kinds)]
    check("storage roles: every storage-role.bicep assignment is scoped to a container, queue, table or the account",
          not unknown)
    for r in role_resources:
        kind = next((k for k, resource_type in kinds if resource_type in r["scope"]), None)
        if kind is not None and r.get("condition") == f"[equals(parameters('scopeKind'), '{kind}')]":
            scoped.add(kind)
    check("storage roles: storage-role.bicep scopes each assignment to the container, queue or table named (the account only for 'account')",
          scoped == {k for k, _ in kinds} and len(role_resources) == 4)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

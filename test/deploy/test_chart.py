"""
helm lint and helm template of deploy/helm/ngx-gateway: the default
values, the walkthrough's mgmt.yaml and variations, with assertions on the
rendered objects (what `kubectl apply` would create).
"""

import pytest

from conftest import (CHART, MGMT, NAMESPACE, RELEASE, arg_value, container,
                      find, one, run_helm, workload)

FULLNAME = RELEASE + "-ngx-gateway"
STATE = "/var/lib/ngx-gateway"

# values per variant, as helm arguments
VARIANTS = {
    "default": [],
    "mgmt": ["-f", MGMT],
    "daemonset": ["-f", MGMT, "--set", "nginxGateway.kind=daemonSet"],
    "nodeport": ["-f", MGMT, "--set", "service.type=NodePort",
                 "--set", "service.ports[0].nodePort=30080"],
    "clusterip": ["--set", "service.type=ClusterIP"],
    "no-leader-election": ["-f", MGMT,
                           "--set", "nginxGateway.leaderElection.enable=false"],
    "no-metrics": ["-f", MGMT, "--set", "metrics.enable=false"],
    "no-service": ["--set", "service.create=false"],
    "extras": ["--set", "podDisruptionBudget.enable=true",
               "--set", "metrics.serviceMonitor.enable=true"],
}

GW = "gateway.networking.k8s.io"
ROUTES = ["httproutes", "grpcroutes", "tlsroutes", "tcproutes", "udproutes"]
WRITTEN = ["gatewayclasses", "gateways", "listenersets",
           "backendtlspolicies"] + ROUTES

# (apiGroup, resource) -> verbs: what the controller does, nothing more
EXPECTED_CLUSTER_RULES = {
    ("", "namespaces"): {"list", "watch"},
    ("", "services"): {"list", "watch"},
    ("", "secrets"): {"list", "watch"},
    ("", "configmaps"): {"list", "watch"},
    ("discovery.k8s.io", "endpointslices"): {"list", "watch"},
    ("apiextensions.k8s.io", "customresourcedefinitions"): {"list", "watch"},
    (GW, "referencegrants"): {"list", "watch"},
    ("events.k8s.io", "events"): {"create", "patch"},
}
EXPECTED_CLUSTER_RULES.update({(GW, r): {"get", "list", "watch"}
                               for r in WRITTEN})
EXPECTED_CLUSTER_RULES.update({(GW, r + "/status"): {"patch"}
                               for r in WRITTEN})

# names ingress-nginx's chart gives its cluster-scoped objects (release
# "ingress-nginx", the usual one) and its IngressClass
INGRESS_NGINX_NAMES = {"ingress-nginx", "ingress-nginx-admission", "nginx"}
CLUSTER_SCOPED = {"ClusterRole", "ClusterRoleBinding", "GatewayClass",
                  "IngressClass", "ValidatingWebhookConfiguration",
                  "MutatingWebhookConfiguration", "Namespace",
                  "CustomResourceDefinition", "PriorityClass"}


def flatten_rules(role):
    """{(group, resource): verbs} with resourceNames kept apart."""
    out = {}
    for rule in role["rules"]:
        for g in rule["apiGroups"]:
            for r in rule["resources"]:
                key = (g, r, tuple(rule.get("resourceNames", ())))
                out.setdefault(key, set()).update(rule["verbs"])
    return out


def pod(objs):
    return workload(objs)["spec"]["template"]["spec"]


def controller_args(objs):
    return container(pod(objs), "controller")["args"]


# --- lint ---------------------------------------------------------------

def test_helm_is_the_pinned_version(helm):
    r = run_helm(helm, "version", "--template", "{{.Version}}")
    assert r.stdout.strip() == "v3.10.1"


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_lint(helm, variant):
    r = run_helm(helm, "lint", "--strict", CHART, "--namespace", NAMESPACE,
                 *VARIANTS[variant])
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 chart(s) failed" in r.stdout


@pytest.mark.parametrize("bad, word", [
    (["--set", "service.tpye=NodePort"], "tpye"),
    (["--set", "nginxGateway.kind=statefulSet"], "kind"),
    (["--set", "service.type=ExternalName"], "type"),
    (["--set", "nginx.plus=true"], "plus"),
    (["--set", "nginxGateway.gatewayControllerName=no-slash"],
     "gatewayControllerName"),
])
def test_schema_refuses_what_the_chart_cannot_do(helm, bad, word):
    r = run_helm(helm, "template", RELEASE, CHART, *bad)
    assert r.returncode != 0, "helm accepted %s" % bad
    assert word in r.stderr


# --- what every variant renders -----------------------------------------

@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_rbac_is_least_privilege(render, variant):
    objs = render(*VARIANTS[variant])
    role = one(objs, "ClusterRole")
    got = flatten_rules(role)
    assert {(g, r): v for (g, r, _), v in got.items()} \
        == EXPECTED_CLUSTER_RULES
    assert all(not names for (_, _, names) in got)
    for rule in role["rules"]:
        for field in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule[field], rule
    # the binding grants that role to the pods' service account
    binding = one(objs, "ClusterRoleBinding")
    sa = one(objs, "ServiceAccount")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io",
                                  "kind": "ClusterRole",
                                  "name": role["metadata"]["name"]}
    assert binding["subjects"] == [{
        "kind": "ServiceAccount", "name": sa["metadata"]["name"],
        "namespace": NAMESPACE}]
    assert pod(objs)["serviceAccountName"] == sa["metadata"]["name"]


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_rbac_never_writes_secrets_or_objects(render, variant):
    objs = render(*VARIANTS[variant])
    for role in find(objs, "ClusterRole") + find(objs, "Role"):
        for (group, res, _), verbs in flatten_rules(role).items():
            if res == "secrets":
                assert verbs <= {"list", "watch"}
            if verbs & {"patch", "update"} and res != "leases":
                assert res.endswith("/status") or res == "events", res
            assert "delete" not in verbs and "deletecollection" not in verbs
            assert "escalate" not in verbs and "bind" not in verbs


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_security_context(render, variant):
    spec = pod(render(*VARIANTS[variant]))
    assert spec["shareProcessNamespace"] is True
    psc = spec["securityContext"]
    assert psc["runAsNonRoot"] is True
    assert psc["runAsUser"] != 0
    assert psc["seccompProfile"] == {"type": "RuntimeDefault"}
    added = {}
    for c in spec["containers"] + spec["initContainers"]:
        sc = c["securityContext"]
        assert sc["readOnlyRootFilesystem"] is True, c["name"]
        assert sc["allowPrivilegeEscalation"] is False, c["name"]
        assert sc["runAsNonRoot"] is True, c["name"]
        assert "privileged" not in sc or sc["privileged"] is False
        assert sc["capabilities"]["drop"] == ["ALL"], c["name"]
        added[c["name"]] = set(sc["capabilities"].get("add", []))
    assert added == {"controller": {"KILL", "NET_BIND_SERVICE"},
                     "nginx": {"NET_BIND_SERVICE"},
                     "bootstrap": set()}
    assert "hostNetwork" not in spec and "hostPID" not in spec


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_both_containers_share_the_state_directory(render, variant):
    objs = render(*VARIANTS[variant])
    spec = pod(objs)
    vols = {v["name"]: v for v in spec["volumes"]}
    assert "emptyDir" in vols["state"]

    def mounts(c):
        return {m["name"]: m["mountPath"] for m in c["volumeMounts"]}

    ctl = container(spec, "controller")
    ngx = container(spec, "nginx")
    init = spec["initContainers"][0]
    assert mounts(ctl)["state"] == mounts(ngx)["state"] \
        == mounts(init)["state"] == STATE
    assert not any(m.get("readOnly") for m in ngx["volumeMounts"]
                   + ctl["volumeMounts"] if m["name"] == "state")
    # every mount is a volume of the pod; no container writes its image
    for c in spec["containers"] + spec["initContainers"]:
        for m in c["volumeMounts"]:
            assert m["name"] in vols
    # the controller's state dir is what nginx runs from
    assert arg_value(ctl["args"], "--state-dir") == STATE
    assert ngx["command"] == ["/usr/sbin/nginx", "-p", STATE + "/",
                              "-c", STATE + "/nginx.conf", "-e", "stderr",
                              "-g", "daemon off;"]
    # the init container puts the bootstrap configuration there
    # the init container makes logs/ and puts the bootstrap config in place
    assert init["command"][-1].endswith(" " + STATE + "/nginx.conf")
    assert "mkdir -p " + STATE + "/logs" in init["command"][-1]
    cm = one(objs, "ConfigMap")
    assert vols["bootstrap"]["configMap"]["name"] == cm["metadata"]["name"]
    conf = cm["data"]["bootstrap.conf"]
    # nginx's pid file is where the controller looks for it
    assert "pid %s/nginx.pid;" % STATE in conf
    assert "listen" not in conf


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_probes_and_admin_port(render, variant):
    args = VARIANTS[variant]
    objs = render(*args)
    ctl = container(pod(objs), "controller")
    ports = {p["name"]: p["containerPort"] for p in ctl["ports"]}
    assert ctl["readinessProbe"]["httpGet"] == {"path": "/readyz",
                                                "port": "admin"}
    assert ctl["livenessProbe"]["httpGet"] == {"path": "/healthz",
                                               "port": "admin"}
    assert arg_value(ctl["args"], "--admin-address") \
        == "0.0.0.0:%d" % ports["admin"] == "0.0.0.0:9113"
    # nginx has no admin port of its own: the controller's /readyz is 200
    # only once nginx runs a configuration the controller wrote
    assert "readinessProbe" not in container(pod(objs), "nginx")


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_controller_args(render, variant):
    objs = render(*VARIANTS[variant])
    args = controller_args(objs)
    assert args[0] == "run"
    assert "--external-nginx" in args
    assert "-f" not in args and "--kubeconfig" not in args
    assert arg_value(args, "--module") \
        == "/usr/lib/nginx/modules/ngx_http_gateway_module.so"
    assert arg_value(args, "--default-address") == "0.0.0.0"
    gcs = find(objs, "GatewayClass")
    assert len(gcs) == 1
    assert arg_value(args, "--controller-name") \
        == gcs[0]["spec"]["controllerName"]
    env = {e["name"]: e for e in container(pod(objs), "controller")["env"]}
    assert env["POD_IP"]["valueFrom"]["fieldRef"]["fieldPath"] \
        == "status.podIP"


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_publish_service_names_the_data_plane_service(render, variant):
    objs = render(*VARIANTS[variant])
    args = controller_args(objs)
    services = [s for s in find(objs, "Service")
                if s["metadata"]["name"] == FULLNAME]
    if variant == "no-service":
        assert services == []
        assert "--publish-service" not in args
        return
    svc = services[0]
    assert arg_value(args, "--publish-service") \
        == "%s/%s" % (svc["metadata"]["namespace"], svc["metadata"]["name"])
    # the Service selects the pods and targets the ports nginx declares
    labels = workload(objs)["spec"]["template"]["metadata"]["labels"]
    assert all(labels.get(k) == v for k, v in svc["spec"]["selector"].items())
    ngx_ports = {p["containerPort"]
                 for p in container(pod(objs), "nginx")["ports"]}
    assert {p["targetPort"] for p in svc["spec"]["ports"]} == ngx_ports
    # the admin port is not on the (possibly public) data plane Service
    assert 9113 not in {p["port"] for p in svc["spec"]["ports"]}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("release", ["ngf", "ingress-nginx", "nginx"])
def test_no_cluster_scoped_name_collides_with_ingress_nginx(render, variant,
                                                            release):
    objs = render(*VARIANTS[variant], release=release)
    assert not find(objs, "IngressClass")
    assert not find(objs, "ValidatingWebhookConfiguration")
    for o in objs:
        if o["kind"] in CLUSTER_SCOPED and o["kind"] != "GatewayClass":
            assert o["metadata"]["name"] not in INGRESS_NGINX_NAMES, o
            assert "ngx-gateway" in o["metadata"]["name"]
        if o["kind"] not in CLUSTER_SCOPED:
            assert o["metadata"]["namespace"] == NAMESPACE, o["kind"]


def test_two_releases_do_not_share_cluster_scoped_names(render):
    a = render("--set", "nginxGateway.gatewayClassName=a", release="one")
    b = render("--set", "nginxGateway.gatewayClassName=b", release="two")

    def names(objs):
        return {(o["kind"], o["metadata"]["name"]) for o in objs
                if o["kind"] in CLUSTER_SCOPED}

    assert names(a) and not names(a) & names(b)


# --- the walkthrough's mgmt.yaml ----------------------------------------

def test_mgmt_yaml_renders_a_complete_install(render):
    objs = render(*VARIANTS["mgmt"])
    assert sorted(o["kind"] for o in objs) == sorted([
        "ServiceAccount", "ConfigMap", "ClusterRole", "ClusterRoleBinding",
        "Role", "RoleBinding", "Service", "Service", "Deployment",
        "GatewayClass"])
    gc = one(objs, "GatewayClass")
    assert gc["metadata"]["name"] == "nginx-gateway"
    assert gc["spec"]["controllerName"] \
        == "gateway.nginx.org/nginx-gateway-controller"
    dep = one(objs, "Deployment")
    assert dep["spec"]["replicas"] == 1
    spec = dep["spec"]["template"]["spec"]
    for c in spec["containers"] + spec["initContainers"]:
        assert c["image"] == "registry.example.com/ngx-gateway:0.1.0"
        assert c["imagePullPolicy"] == "IfNotPresent"
    svc = one(objs, "Service", FULLNAME)
    assert svc["spec"]["type"] == "LoadBalancer"
    assert svc["spec"]["externalTrafficPolicy"] == "Local"
    assert svc["spec"]["loadBalancerIP"] == "10.10.10.62"
    assert [(p["name"], p["port"], p["targetPort"], p["protocol"])
            for p in svc["spec"]["ports"]] \
        == [("http", 80, 80, "TCP"), ("https", 443, 443, "TCP")]
    assert {(p["name"], p["containerPort"]) for p in
            container(spec, "nginx")["ports"]} == {("http", 80),
                                                   ("https", 443)}
    ann = dep["spec"]["template"]["metadata"]["annotations"]
    assert ann["prometheus.io/scrape"] == "true"
    assert ann["prometheus.io/port"] == "9113"
    args = controller_args(objs)
    role = one(objs, "Role")
    assert arg_value(args, "--lease-namespace") == NAMESPACE
    assert role["metadata"]["namespace"] == NAMESPACE
    lease = arg_value(args, "--lease-name")
    rules = flatten_rules(role)
    assert rules == {
        ("coordination.k8s.io", "leases", ()): {"create"},
        ("coordination.k8s.io", "leases", (lease,)): {"get", "update"},
    }
    assert "--no-leader-election" not in args


def test_default_images_are_one_image(render):
    objs = render()
    spec = pod(objs)
    images = {c["image"] for c in spec["containers"] + spec["initContainers"]}
    assert images == {"ngx-gateway:0.1.0"}


# --- variations -----------------------------------------------------------

def test_daemonset(render):
    objs = render(*VARIANTS["daemonset"])
    assert not find(objs, "Deployment")
    ds = one(objs, "DaemonSet")
    assert "replicas" not in ds["spec"]
    assert ds["spec"]["selector"]["matchLabels"].items() \
        <= ds["spec"]["template"]["metadata"]["labels"].items()


def test_nodeport(render):
    objs = render(*VARIANTS["nodeport"])
    svc = one(objs, "Service", FULLNAME)
    assert svc["spec"]["type"] == "NodePort"
    assert svc["spec"]["externalTrafficPolicy"] == "Local"
    # loadBalancerIP (from mgmt.yaml) means nothing to a NodePort Service
    assert "loadBalancerIP" not in svc["spec"]
    assert svc["spec"]["ports"][0]["nodePort"] == 30080
    assert "nodePort" not in svc["spec"]["ports"][1]


def test_clusterip_has_no_external_traffic_policy(render):
    svc = one(render(*VARIANTS["clusterip"]), "Service", FULLNAME)
    assert svc["spec"]["type"] == "ClusterIP"
    assert "externalTrafficPolicy" not in svc["spec"]
    assert "loadBalancerIP" not in svc["spec"]


def test_external_traffic_policy_cluster(render):
    svc = one(render("--set", "service.externalTrafficPolicy=Cluster"),
              "Service", FULLNAME)
    assert svc["spec"]["externalTrafficPolicy"] == "Cluster"


def test_leader_election_off(render):
    objs = render(*VARIANTS["no-leader-election"])
    args = controller_args(objs)
    assert "--no-leader-election" in args
    assert "--lease-name" not in args and "--lease-namespace" not in args
    assert not find(objs, "Role") and not find(objs, "RoleBinding")
    for role in find(objs, "ClusterRole"):
        assert not any(r == "leases" for (_, r, _) in flatten_rules(role))


def test_lease_name_from_values(render):
    objs = render("--set", "nginxGateway.leaderElection.lockName=my-lock")
    assert arg_value(controller_args(objs), "--lease-name") == "my-lock"
    assert ("coordination.k8s.io", "leases", ("my-lock",)) \
        in flatten_rules(one(objs, "Role"))


def test_metrics_off(render):
    objs = render(*VARIANTS["no-metrics"])
    assert [s["metadata"]["name"] for s in find(objs, "Service")] \
        == [FULLNAME]
    assert not find(objs, "ServiceMonitor")
    ann = workload(objs)["spec"]["template"]["metadata"]["annotations"]
    assert not any(k.startswith("prometheus.io/") for k in ann)
    # the probes still need the admin port
    ctl = container(pod(objs), "controller")
    assert ctl["readinessProbe"]["httpGet"]["port"] == "admin"


def test_metrics_service_and_service_monitor(render):
    objs = render(*VARIANTS["extras"])
    msvc = one(objs, "Service", FULLNAME + "-metrics")
    assert msvc["spec"]["type"] == "ClusterIP"
    assert msvc["spec"]["ports"] == [{"name": "admin", "port": 9113,
                                      "targetPort": "admin",
                                      "protocol": "TCP"}]
    sm = one(objs, "ServiceMonitor")
    assert sm["spec"]["endpoints"][0]["port"] == "admin"
    assert sm["spec"]["endpoints"][0]["path"] == "/metrics"
    assert sm["spec"]["selector"]["matchLabels"].items() \
        <= msvc["metadata"]["labels"].items()
    pdb = one(objs, "PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"] \
        == workload(objs)["spec"]["selector"]["matchLabels"]


def test_no_gateway_class_when_not_wanted(render):
    objs = render("--set", "nginxGateway.createGatewayClass=false")
    assert not find(objs, "GatewayClass")
    assert arg_value(controller_args(objs), "--controller-name") \
        == "ngx-gateway.io/gateway-controller"


def test_log_and_worker_settings(render):
    args = controller_args(render(
        "--set", "nginxGateway.config.logging.level=debug",
        "--set", "nginxGateway.config.logging.format=json",
        "--set", "nginx.workerProcesses=2"))
    assert arg_value(args, "--log-level") == "debug"
    assert arg_value(args, "--log-format") == "json"
    assert arg_value(args, "--worker-processes") == "2"
    assert "--worker-processes" not in controller_args(render())


def test_state_volume_in_memory(render):
    objs = render("--set", "stateVolume.medium=Memory")
    vols = {v["name"]: v for v in pod(objs)["volumes"]}
    assert vols["state"]["emptyDir"]["medium"] == "Memory"

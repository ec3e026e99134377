package validate

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

const kubernetesDir = "../kubernetes"

var overlays = []string{"local", "production"}

// build runs kustomize (the library kubectl kustomize embeds) on an overlay
// and decodes every object strictly into k8s.io/api types: an unknown or
// duplicated field, a wrong type or an unknown kind fails.
func build(t *testing.T, overlay string) []runtime.Object {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	res, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(kubernetesDir, "overlays", overlay))
	if err != nil {
		t.Fatalf("kustomize build overlays/%s: %v", overlay, err)
	}
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme, policyv1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	dec := serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
	var objs []runtime.Object
	for _, r := range res.Resources() {
		js, err := r.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		obj, _, err := dec.Decode(js, nil, nil)
		if err != nil {
			t.Errorf("overlays/%s: %s %s does not decode strictly: %v", overlay, r.GetKind(), r.GetName(), err)
			continue
		}
		objs = append(objs, obj)
	}
	return objs
}

type podOwner struct {
	kind, name string
	spec       corev1.PodSpec
}

func pods(objs []runtime.Object) []podOwner {
	var out []podOwner
	for _, o := range objs {
		switch o := o.(type) {
		case *appsv1.Deployment:
			out = append(out, podOwner{"Deployment", o.Name, o.Spec.Template.Spec})
		case *batchv1.Job:
			out = append(out, podOwner{"Job", o.Name, o.Spec.Template.Spec})
		}
	}
	return out
}

// Every overlay builds and decodes strictly; ingest and aggregate have
// probes on /healthz and resource requests; secrets reach containers only
// through secretKeyRef, never as literal values; every ConfigMap and Secret
// a pod names is in the output (production's Secret is created out of
// band, and is the only one allowed to be missing).
func TestKubernetesOverlays(t *testing.T) {
	for _, overlay := range overlays {
		objs := build(t, overlay)
		configMaps, secrets, deployments := map[string]bool{}, map[string]bool{}, map[string]*appsv1.Deployment{}
		for _, o := range objs {
			switch o := o.(type) {
			case *corev1.ConfigMap:
				configMaps[o.Name] = true
			case *corev1.Secret:
				secrets[o.Name] = true
			case *appsv1.Deployment:
				deployments[o.Name] = o
				if o.Namespace == "" {
					t.Errorf("overlays/%s: Deployment %s has no namespace", overlay, o.Name)
				}
			}
		}
		for _, name := range []string{"tongxin-ingest", "tongxin-aggregate"} {
			d := deployments[name]
			if d == nil {
				t.Errorf("overlays/%s: no Deployment %s", overlay, name)
				continue
			}
			for _, c := range d.Spec.Template.Spec.Containers {
				for what, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
					if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" {
						t.Errorf("overlays/%s: %s has no %s probe on /healthz", overlay, name, what)
					}
				}
				if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
					t.Errorf("overlays/%s: %s requests no CPU or memory", overlay, name)
				}
			}
		}
		for _, p := range pods(objs) {
			for _, v := range p.spec.Volumes {
				if v.ConfigMap != nil && !configMaps[v.ConfigMap.Name] {
					t.Errorf("overlays/%s: %s %s mounts missing ConfigMap %s", overlay, p.kind, p.name, v.ConfigMap.Name)
				}
			}
			for _, c := range p.spec.Containers {
				for _, e := range c.Env {
					secretish := strings.Contains(e.Name, "SECRET") || strings.Contains(e.Name, "PASSWORD") ||
						strings.Contains(e.Name, "KEY") || e.Name == "TONGXIN_CLICKHOUSE"
					if secretish && (e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil) {
						t.Errorf("overlays/%s: %s %s sets %s without a secretKeyRef", overlay, p.kind, p.name, e.Name)
					}
					if ref := e.ValueFrom; ref != nil && ref.SecretKeyRef != nil && !secrets[ref.SecretKeyRef.Name] && overlay != "production" {
						t.Errorf("overlays/%s: %s %s reads missing Secret %s", overlay, p.kind, p.name, ref.SecretKeyRef.Name)
					}
				}
			}
		}
		if overlay == "production" {
			if d := deployments["tongxin-aggregate"]; d != nil && (d.Spec.Replicas == nil || *d.Spec.Replicas < 2) {
				t.Errorf("production runs %v aggregators", d.Spec.Replicas)
			}
			if len(secrets) != 0 {
				t.Errorf("production commits Secrets: %v", secrets)
			}
			var job *batchv1.Job
			for _, o := range objs {
				if j, ok := o.(*batchv1.Job); ok {
					job = j
				}
			}
			if job == nil || !slices.Contains(job.Spec.Template.Spec.Containers[0].Args, "--analyst-role") {
				t.Error("production has no migrate Job that grants the analysts' role")
			}
		}
	}
}

// The strict decoder is strict: a misspelt field fails (so the test above
// would catch one in the manifests).
func TestStrictDecodingRefusesUnknownFields(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := appsv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	dec := serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
	bad := []byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"x"},"spec":{"replica":2}}`)
	if _, _, err := dec.Decode(bad, nil, nil); err == nil {
		t.Fatal("a Deployment with spec.replica decoded")
	}
}

// kubectl kustomize (when this machine has kubectl; CI may not) builds the
// same objects as the library.
func TestKubectlKustomizeAgrees(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("no kubectl on this machine; the library build above is the check")
	}
	for _, overlay := range overlays {
		out, err := exec.Command(kubectl, "kustomize", filepath.Join(kubernetesDir, "overlays", overlay)).Output()
		if err != nil {
			t.Errorf("kubectl kustomize overlays/%s: %v", overlay, err)
			continue
		}
		k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
		res, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(kubernetesDir, "overlays", overlay))
		if err != nil {
			t.Fatal(err)
		}
		lib, err := res.AsYaml()
		if err != nil {
			t.Fatal(err)
		}
		// The same objects; kubectl's older kustomize orders them differently.
		docs := func(b []byte) []string {
			d := strings.Split(string(bytes.TrimSpace(b)), "\n---\n")
			slices.Sort(d)
			return d
		}
		if a, b := docs(out), docs(lib); !slices.Equal(a, b) {
			t.Errorf("overlays/%s: kubectl kustomize and kustomize/api v0.21.2 build different objects:\n%s\n----\n%s", overlay, strings.Join(a, "\n---\n"), strings.Join(b, "\n---\n"))
		}
	}
}

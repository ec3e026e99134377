package validate

import (
	"context"
	"encoding/xml"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"gopkg.in/yaml.v3"
)

const composeDir = "../compose"

// The variables deploy/compose/env.example lists, with throwaway values:
// the file refuses to load without each (${VAR:?…}).
func composeEnv(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(composeDir, "env.example"))
	if err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, line := range strings.Split(string(b), "\n") {
		if k, _, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			env = append(env, k+"=test-"+strings.ToLower(k))
		}
	}
	return env
}

func loadCompose(t *testing.T, env []string) (*types.Project, error) {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{filepath.Join(composeDir, "compose.yaml")},
		cli.WithWorkingDirectory(composeDir), cli.WithEnv(env), cli.WithDiscardEnvFile,
		cli.WithConsistency(true), cli.WithResolvedPaths(true))
	if err != nil {
		t.Fatal(err)
	}
	return opts.LoadProject(context.Background())
}

// deploy/compose/compose.yaml validates against the Compose specification
// (compose-go's schema, interpolation and consistency checks: every
// depends_on, volume and network named exists), and holds what issue 12
// asks for.
func TestComposeValidates(t *testing.T) {
	p, err := loadCompose(t, composeEnv(t))
	if err != nil {
		t.Fatalf("compose.yaml does not validate: %v", err)
	}
	for _, name := range []string{"kafka1", "kafka2", "kafka3", "keeper", "clickhouse1", "clickhouse2",
		"migrate", "ingest", "aggregate", "prometheus", "alertmanager", "grafana"} {
		if _, err := p.GetService(name); err != nil {
			t.Errorf("no service %s", name)
		}
	}
	// Kafka: three KRaft brokers that are also the controller quorum;
	// topics replicated three times, two in sync to acknowledge.
	voters := ""
	for i, name := range []string{"kafka1", "kafka2", "kafka3"} {
		s, _ := p.GetService(name)
		env := s.Environment
		if v := env["KAFKA_NODE_ID"]; v == nil || *v != string(rune('1'+i)) {
			t.Errorf("%s: node id %v", name, v)
		}
		for k, want := range map[string]string{"KAFKA_DEFAULT_REPLICATION_FACTOR": "3", "KAFKA_MIN_INSYNC_REPLICAS": "2",
			"KAFKA_PROCESS_ROLES": "broker,controller", "KAFKA_ADVERTISED_LISTENERS": "PLAINTEXT://" + name + ":9092"} {
			if v := env[k]; v == nil || *v != want {
				t.Errorf("%s: %s = %v, want %s", name, k, v, want)
			}
		}
		// The log lives on the broker's volume, so a restart keeps it.
		onVolume := false
		for _, v := range s.Volumes {
			if d := env["KAFKA_LOG_DIRS"]; d != nil && v.Type == types.VolumeTypeVolume && v.Target == *d {
				onVolume = true
			}
		}
		if !onVolume {
			t.Errorf("%s: KAFKA_LOG_DIRS %v is not on a named volume", name, env["KAFKA_LOG_DIRS"])
		}
		if v := env["KAFKA_CONTROLLER_QUORUM_VOTERS"]; v != nil {
			if voters != "" && *v != voters {
				t.Errorf("%s: quorum voters %s differ from %s", name, *v, voters)
			}
			voters = *v
		}
		if !strings.Contains(voters, string(rune('1'+i))+"@"+name+":9093") {
			t.Errorf("%s is not a voter in %q", name, voters)
		}
	}
	// tongxin's services share one image built from the repository's Dockerfile.
	for _, name := range []string{"migrate", "ingest", "aggregate"} {
		s, _ := p.GetService(name)
		if s.Build == nil || filepath.Base(s.Build.Dockerfile) != "Dockerfile" {
			t.Errorf("%s is not built from the Dockerfile: %+v", name, s.Build)
			continue
		}
		if _, err := os.Stat(filepath.Join(s.Build.Context, s.Build.Dockerfile)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// The schema is rendered for the cluster the servers define.
	cluster := clusterName(t)
	for _, name := range []string{"migrate", "aggregate"} {
		s, _ := p.GetService(name)
		if i := slices.Index(s.Command, "--cluster"); i < 0 || i+1 >= len(s.Command) || s.Command[i+1] != cluster {
			t.Errorf("%s does not run --cluster %s: %v", name, cluster, s.Command)
		}
	}
	agg, _ := p.GetService("aggregate")
	if d, ok := agg.DependsOn["migrate"]; !ok || d.Condition != types.ServiceConditionCompletedSuccessfully {
		t.Errorf("aggregate does not wait for migrate: %+v", agg.DependsOn)
	}
	// Every file mounted from the repository exists; the dashboards once
	// `tongxin dashboards --out dashboards/generated` has been committed.
	for _, s := range p.Services {
		for _, v := range s.Volumes {
			if v.Type != types.VolumeTypeBind {
				continue
			}
			if strings.Contains(v.Source, filepath.Join("dashboards", "generated")) {
				if _, err := os.Stat(filepath.Join("..", "..", "dashboards", "generated")); err != nil {
					t.Logf("%s mounts %s: dashboards/generated is not in this tree yet, not checked", s.Name, v.Source)
					continue
				}
			}
			if _, err := os.Stat(v.Source); err != nil {
				t.Errorf("%s mounts %s: %v", s.Name, v.Source, err)
			}
			if !v.ReadOnly {
				t.Errorf("%s mounts %s writable", s.Name, v.Source)
			}
		}
	}
	// Prometheus loads deploy's rules, as mounted.
	var prom struct {
		RuleFiles []string `yaml:"rule_files"`
	}
	readYAML(t, filepath.Join(composeDir, "prometheus", "prometheus.yml"), &prom)
	ps, _ := p.GetService("prometheus")
	for _, rf := range prom.RuleFiles {
		mounted := false
		for _, v := range ps.Volumes {
			if v.Target == rf && strings.HasSuffix(v.Source, filepath.Join("deploy", "prometheus", "tongxin-rules.yml")) {
				mounted = true
			}
		}
		if !mounted {
			t.Errorf("prometheus rule file %s is not deploy/prometheus/tongxin-rules.yml", rf)
		}
	}
	if len(prom.RuleFiles) == 0 {
		t.Error("prometheus loads no rules")
	}
}

// Without the secrets it needs, the file refuses to load and names them:
// no default password ships in it.
func TestComposeWantsEverySecret(t *testing.T) {
	env := composeEnv(t)
	for i, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		without := slices.Delete(slices.Clone(env), i, i+1)
		_, err := loadCompose(t, without)
		if err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("compose.yaml loads without %s (error %v)", k, err)
		}
	}
}

// The ClickHouse config files are well-formed; both replicas share one
// shard and carry distinct replica macros the cluster lists.
func TestClickHouseClusterConfig(t *testing.T) {
	var cfg struct {
		Servers struct {
			Clusters []struct {
				XMLName xml.Name
				Shards  []struct {
					Internal bool `xml:"internal_replication"`
					Replicas []struct {
						Host string `xml:"host"`
					} `xml:"replica"`
				} `xml:"shard"`
			} `xml:",any"`
		} `xml:"remote_servers"`
		Keeper []struct {
			Host string `xml:"host"`
		} `xml:"zookeeper>node"`
	}
	readXML(t, filepath.Join(composeDir, "clickhouse", "cluster.xml"), &cfg)
	if len(cfg.Servers.Clusters) != 1 || len(cfg.Servers.Clusters[0].Shards) != 1 {
		t.Fatalf("want one cluster of one shard: %+v", cfg.Servers)
	}
	shard := cfg.Servers.Clusters[0].Shards[0]
	if !shard.Internal {
		t.Error("internal_replication is off: a Distributed INSERT would write every replica itself, bypassing deduplication")
	}
	var hosts []string
	for _, r := range shard.Replicas {
		hosts = append(hosts, r.Host)
	}
	if len(cfg.Keeper) == 0 || cfg.Keeper[0].Host != "keeper" {
		t.Errorf("keeper: %+v", cfg.Keeper)
	}
	seen := map[string]bool{}
	for _, f := range []string{"macros-1.xml", "macros-2.xml"} {
		var m struct {
			Shard   string `xml:"macros>shard"`
			Replica string `xml:"macros>replica"`
		}
		readXML(t, filepath.Join(composeDir, "clickhouse", f), &m)
		if m.Shard == "" || !slices.Contains(hosts, m.Replica) || seen[m.Replica] {
			t.Errorf("%s: shard %q replica %q (cluster replicas %v)", f, m.Shard, m.Replica, hosts)
		}
		seen[m.Replica] = true
	}
	var users struct {
		Writer struct {
			Foreground string `xml:"distributed_foreground_insert"`
			Quorum     string `xml:"insert_quorum"`
		} `xml:"profiles>tongxin_writer"`
	}
	readXML(t, filepath.Join(composeDir, "clickhouse", "users.xml"), &users)
	if users.Writer.Foreground != "1" || users.Writer.Quorum != "2" {
		t.Errorf("writer profile: %+v, want synchronous Distributed inserts with a quorum of both replicas", users.Writer)
	}
	readXML(t, filepath.Join(composeDir, "keeper", "keeper.xml"), &struct{}{})
}

func clusterName(t *testing.T) string {
	var cfg struct {
		Servers struct {
			Clusters []struct{ XMLName xml.Name } `xml:",any"`
		} `xml:"remote_servers"`
	}
	readXML(t, filepath.Join(composeDir, "clickhouse", "cluster.xml"), &cfg)
	if len(cfg.Servers.Clusters) == 0 {
		t.Fatal("cluster.xml defines no cluster")
	}
	return cfg.Servers.Clusters[0].XMLName.Local
}

func readXML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

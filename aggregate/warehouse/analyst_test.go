package warehouse_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/tongxin/tongxin/aggregate/warehouse"
)

// readmeAnalystDDL is the SQL deploy/README.md shows for creating an
// analyst (between <!-- analyst-user --> markers): what the README shows is
// what the engine test parses.
func readmeAnalystDDL(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../deploy/README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "<!-- analyst-user -->")
	section, _, ok2 := strings.Cut(rest, "<!-- /analyst-user -->")
	if !ok || !ok2 {
		t.Fatal("deploy/README.md has no <!-- analyst-user --> section")
	}
	_, code, _ := strings.Cut(section, "```sql\n")
	code, _, _ = strings.Cut(code, "```")
	var out []string
	for _, s := range strings.Split(code, ";\n") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	if len(out) < 2 {
		t.Fatalf("the README's analyst section holds %d statements", len(out))
	}
	return out
}

// The role reads every table and view the migrations create (both halves
// of the Distributed tables), and not the migrations' own table.
func TestAnalystRoleGrantsTheDocumentedObjects(t *testing.T) {
	plan, err := warehouse.Plan("tongxin", warehouse.Target{Cluster: "prod", AnalystRole: true})
	if err != nil {
		t.Fatal(err)
	}
	granted := map[string]bool{}
	var profile, quota string
	for _, s := range plan {
		if rest, ok := strings.CutPrefix(s, "GRANT ON CLUSTER `prod` SELECT ON `tongxin`.`"); ok {
			name, _, _ := strings.Cut(rest, "`")
			if !strings.HasSuffix(s, " TO `tongxin_analyst`") {
				t.Errorf("grant to someone else: %s", s)
			}
			granted[name] = true
		}
		if strings.HasPrefix(s, "GRANT") && !strings.Contains(s, " SELECT ON ") {
			t.Errorf("grant of more than SELECT: %s", s)
		}
		if strings.HasPrefix(s, "CREATE SETTINGS PROFILE") {
			profile = s
		}
		if strings.HasPrefix(s, "CREATE QUOTA") {
			quota = s
		}
	}
	for _, want := range []string{"snapshots", "snapshots_local", "post_hourly", "post_hourly_local", "alerts", "ambassadors",
		"ambassador_daily", "post_latest", "campaign_daily", "campaign_totals", "leaderboard", "post_state"} {
		if !granted[want] {
			t.Errorf("the analyst role cannot read %s", want)
		}
	}
	for _, no := range []string{"schema_migrations", "schema_migrations_local"} {
		if granted[no] {
			t.Errorf("the analyst role reads %s", no)
		}
	}
	for _, want := range []string{"readonly = 2 CONST", "max_execution_time = 60 MAX 60", "max_memory_usage = ", "max_result_rows = ", "result_overflow_mode = 'throw'", "TO `tongxin_analyst`"} {
		if !strings.Contains(profile, want) {
			t.Errorf("profile lacks %q: %s", want, profile)
		}
	}
	for _, want := range []string{"KEYED BY user_name", "FOR INTERVAL 1 hour", "queries = ", "result_rows = ", "execution_time = "} {
		if !strings.Contains(quota, want) {
			t.Errorf("quota lacks %q: %s", want, quota)
		}
	}
	if _, err := warehouse.Plan("tongxin", warehouse.Target{AnalystRole: true}); err == nil {
		t.Error("an analyst role without a cluster was planned")
	}
}

// What the engine can do of the analysts' access. It cannot create roles,
// settings profiles or quotas (chDB keeps its users in users.xml, which has
// no access management: CREATE ROLE is refused), so those statements are
// parsed only (TestClusterDDLParsesOnTheEngine). The profile's settings
// themselves it applies: under them a query on a view answers, an INSERT
// is refused as read-only, and a result over max_result_rows fails.
func TestAnalystSettingsAreReadOnlyOnTheEngine(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn := migrated(t, ctx)
	set := clickhouse.Settings{}
	for _, s := range warehouse.AnalystSettings {
		set[s.Name] = strings.Trim(s.Value, "'")
	}
	actx := clickhouse.Context(ctx, clickhouse.WithSettings(set))

	var n uint64
	if err := conn.QueryRow(actx, "SELECT count() FROM campaign_daily").Scan(&n); err != nil {
		t.Errorf("a read-only query on a view fails under the analyst settings: %v", err)
	}
	err := conn.Exec(actx, "INSERT INTO ambassadors (ambassador_id, name, community) VALUES ('a1', '张三', '西山')")
	if err == nil || !strings.Contains(err.Error(), "readonly") {
		t.Errorf("INSERT under the analyst settings: %v, want a read-only refusal", err)
	}
	if err := conn.QueryRow(ctx, "SELECT count() FROM ambassadors").Scan(&n); err != nil || n != 0 {
		t.Errorf("ambassadors holds %d rows after the refused INSERT (err %v)", n, err)
	}
	rows, err := conn.Query(actx, "SELECT number FROM system.numbers LIMIT 1000001")
	if err == nil {
		for rows.Next() {
		}
		err = rows.Err()
		rows.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "Limit for result exceeded") {
		t.Errorf("a result over max_result_rows: %v, want the limit's error", err)
	}
}

package warehouse

import (
	"fmt"
	"strings"
)

// AnalystRoleName is the role analysts are granted on a cluster.
const AnalystRoleName = "tongxin_analyst"

// The analysts' hourly quota, per analyst (wall time).
const (
	AnalystQueriesPerHour    = 1000
	AnalystResultRowsPerHour = 100_000_000
	AnalystExecutionPerHour  = 1800 // seconds of query time
)

// A ProfileSetting is one setting of the analysts' settings profile and
// its constraint: CONST (an analyst cannot change it) or MAX (an analyst
// may lower it, never raise it).
type ProfileSetting struct {
	Name, Value string // Value as SQL: a number or a quoted string
	Constraint  string // "CONST" or "MAX"
}

// AnalystSettings are the analysts' settings profile. readonly = 2, not 1:
// clients such as DBeaver's JDBC driver and Grafana set settings when they
// connect, which readonly = 1 refuses; with 2 they may, within the
// constraints, and still cannot write or change readonly. A query past a
// per-query limit fails naming the limit (result_overflow_mode 'throw': a
// silently cut result would look like a complete answer). Memory is per
// query on each server. distributed_product_mode 'global' lets a view's
// JOIN or IN over another Distributed table run once several shards exist.
var AnalystSettings = []ProfileSetting{
	{"readonly", "2", "CONST"},
	{"max_execution_time", "60", "MAX"},
	{"max_memory_usage", "4000000000", "MAX"},
	{"max_result_rows", "1000000", "MAX"},
	{"result_overflow_mode", "'throw'", "CONST"},
	{"distributed_product_mode", "'global'", "CONST"},
}

const (
	analystProfile = "tongxin_analyst" // settings profiles, quotas and roles have their own namespaces
	analystQuota   = "tongxin_analyst"
)

// AnalystDDL creates (or updates) the analysts' access on every server of
// the cluster: a role with SELECT on objects (the campaign's tables and
// views in database; the local halves of the Distributed tables too, since
// a Distributed query reads them as the analyst; not schema_migrations),
// the read-only settings profile AnalystSettings, and an hourly quota per
// analyst. The profile and quota are replaced on each run, so changed
// limits apply; the role is kept (replacing it would drop its members);
// GRANT adds what new migrations created.
func AnalystDDL(cluster, database string, objects []string) []string {
	on := ""
	if cluster != "" {
		on = " ON CLUSTER " + quoteIdent(cluster)
	}
	role := quoteIdent(AnalystRoleName)
	var settings []string
	for _, s := range AnalystSettings {
		c := s.Constraint
		if c == "MAX" {
			c = "MAX " + s.Value
		}
		settings = append(settings, s.Name+" = "+s.Value+" "+c)
	}
	out := []string{
		"CREATE ROLE IF NOT EXISTS " + role + on,
		fmt.Sprintf("CREATE SETTINGS PROFILE OR REPLACE %s%s SETTINGS %s TO %s",
			quoteIdent(analystProfile), on, strings.Join(settings, ", "), role),
		fmt.Sprintf("CREATE QUOTA OR REPLACE %s%s KEYED BY user_name "+
			"FOR INTERVAL 1 hour MAX queries = %d, result_rows = %d, execution_time = %d TO %s",
			quoteIdent(analystQuota), on, AnalystQueriesPerHour, AnalystResultRowsPerHour, AnalystExecutionPerHour, role),
	}
	// One GRANT per object: a GRANT's ON names one database.table.
	for _, o := range objects {
		out = append(out, "GRANT"+on+" SELECT ON "+quoteIdent(database)+"."+quoteIdent(o)+" TO "+role)
	}
	return out
}

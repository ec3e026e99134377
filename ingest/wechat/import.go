package wechat

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/snapshot"
)

// ImportOptions say how to read export files.
type ImportOptions struct {
	// Ambassador, when set, is whose exports the files are (an ambassador
	// id or a WeChat Channels finder id); otherwise it is taken from each
	// file's folder or name.
	Ambassador string
	// ExportedAt, when set, is the export time of every file; otherwise it
	// is taken from each file's name or modification time.
	ExportedAt time.Time
}

// ImportFiles reads export files and folders (every .csv/.xlsx below a
// folder, skipping the watcher's state file and half-downloaded files) for
// `tongxin import`. It returns the snapshots of every row it could read and
// an error for every file or row it could not; one bad row or file does not
// stop the others.
func ImportFiles(ctx context.Context, paths []string, r *roster.Roster, opt ImportOptions) ([]snapshot.Snapshot, []error) {
	var snaps []snapshot.Snapshot
	var errs []error
	files, ferrs := expandPaths(paths)
	errs = append(errs, ferrs...)
	for _, p := range files {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		ex, err := ReadFile(p, r, opt)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		snaps = append(snaps, ex.Snapshots...)
		errs = append(errs, ex.Errors...)
	}
	return snaps, errs
}

// expandPaths lists the export files under paths, in a stable order.
func expandPaths(paths []string) ([]string, []error) {
	var files []string
	var errs []error
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("wechat import: %w", err))
			continue
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
			if err != nil {
				errs = append(errs, fmt.Errorf("wechat import: %w", err))
				return nil
			}
			if d.IsDir() {
				if q != p && strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir
				}
				return nil
			}
			if isExportName(d.Name()) {
				found = append(found, q)
			}
			return nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("wechat import: %w", err))
		}
		if len(found) == 0 {
			errs = append(errs, fmt.Errorf("wechat import: %s: no .csv or .xlsx export files in the folder", p))
		}
		sort.Strings(found)
		files = append(files, found...)
	}
	return files, errs
}

// isExportName says whether a file in a drop folder is an export to read:
// .csv or .xlsx, not hidden, not an Excel lock file (~$…), not a browser's
// partial download (.crdownload, .part, .download, .tmp).
func isExportName(name string) bool {
	if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "~$") {
		return false
	}
	ext := strings.ToLower(filepath.Ext(name))
	return ext == ".csv" || ext == ".xlsx"
}

// ReadFile reads one export file: whose it is and when it was made from the
// options, the path and the file, then its rows.
func ReadFile(path string, r *roster.Roster, opt ImportOptions) (*Export, error) {
	acct, err := AccountOf(r, path, opt.Ambassador)
	if err != nil {
		return nil, err
	}
	data, st, err := readExportFile(path)
	if err != nil {
		return nil, err
	}
	at, from := opt.ExportedAt, "given"
	if at.IsZero() {
		at, from = ExportTime(path, st.ModTime())
	}
	ex, err := Parse(path, data, acct, at)
	if err != nil {
		return nil, err
	}
	ex.Path, ex.TimeFrom = path, from
	return ex, nil
}

// AccountOf finds whose export a file is: the explicit ambassador if given,
// else the folder's name, else the file name's prefix — each an ambassador
// id or a WeChat Channels finder id of the roster.
func AccountOf(r *roster.Roster, path, explicit string) (roster.Account, error) {
	if r == nil {
		return roster.Account{}, errors.New("wechat export: no roster")
	}
	accts := r.Accounts(snapshot.WeChatChannels)
	byID := func(id string) (roster.Account, bool, error) {
		for _, a := range accts {
			if a.AmbassadorID == id || a.AccountID == id {
				return a, true, nil
			}
		}
		if _, ok := r.Ambassador(id); ok {
			return roster.Account{}, true, fmt.Errorf("wechat export %s: ambassador %s has no wechat_channels account in the roster", path, id)
		}
		return roster.Account{}, false, nil
	}
	if explicit != "" {
		a, ok, err := byID(explicit)
		if err != nil {
			return a, err
		}
		if !ok {
			return a, fmt.Errorf("wechat export %s: %q is neither an ambassador id nor a wechat_channels finder id of the roster", path, explicit)
		}
		return a, nil
	}
	var fromDir *roster.Account
	if dir := filepath.Base(filepath.Dir(path)); dir != "." && dir != string(filepath.Separator) {
		a, ok, err := byID(dir)
		if err != nil {
			return a, err
		}
		if ok {
			fromDir = &a
		}
	}
	base := filepath.Base(path)
	var best roster.Account
	bestLen := 0
	for _, a := range accts {
		for _, id := range []string{a.AmbassadorID, a.AccountID} {
			if len(id) > bestLen && strings.HasPrefix(base, id) && len(base) > len(id) && strings.ContainsRune("_-. ", rune(base[len(id)])) {
				best, bestLen = a, len(id)
			}
		}
	}
	switch {
	case fromDir != nil && bestLen > 0 && best != *fromDir:
		return roster.Account{}, fmt.Errorf("wechat export %s: the folder says ambassador %s but the file name says %s; move or rename the file", path, fromDir.AmbassadorID, best.AmbassadorID)
	case fromDir != nil:
		return *fromDir, nil
	case bestLen > 0:
		return best, nil
	}
	// An ambassador of the roster without a Channels account?
	if i := strings.IndexAny(base, "_-. "); i > 0 {
		if _, ok, err := byID(base[:i]); ok && err != nil {
			return roster.Account{}, err
		}
	}
	return roster.Account{}, fmt.Errorf("wechat export %s: cannot tell whose export this is: put it in a folder named by the ambassador id (or finder id), start its name with the ambassador id (amb07_…), or name the ambassador explicitly", path)
}

var nameTimeRE = regexp.MustCompile(`(?:^|\D)(20\d{2})[-.]?(\d{2})[-.]?(\d{2})[T_ .-]?(\d{2})[:.-]?(\d{2})(?:[:.-]?(\d{2}))?(?:\D|$)`)

// ExportTime returns when an export was made: the date and time in its file
// name (China time) if it has both, else its modification time.
func ExportTime(path string, mtime time.Time) (time.Time, string) {
	if t, ok := NameTime(filepath.Base(path)); ok {
		return t, "file name"
	}
	return mtime.UTC().Truncate(time.Second), "modification time"
}

// NameTime reads a date and time (China time) out of a file name like
// amb07_20260510_143000.csv, amb07-20260510-1430.xlsx or
// 视频号_2026-05-10T14.30.00.csv.
func NameTime(name string) (time.Time, bool) {
	for _, m := range nameTimeRE.FindAllStringSubmatch(name, -1) {
		n := make([]int, 6)
		for i := range n {
			if m[i+1] != "" {
				n[i], _ = strconv.Atoi(m[i+1])
			}
		}
		t := time.Date(n[0], time.Month(n[1]), n[2], n[3], n[4], n[5], 0, chinaTime)
		if t.Year() == n[0] && int(t.Month()) == n[1] && t.Day() == n[2] && t.Hour() == n[3] && t.Minute() == n[4] && t.Second() == n[5] {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// FileName is the name a tool that saves exports for an ambassador should
// give the file: the ambassador id, then the export's time in China time.
func FileName(ambassadorID string, at time.Time, ext string) string {
	return ambassadorID + "_视频号_单篇视频_" + at.In(chinaTime).Format("20060102_150405") + "." + strings.TrimPrefix(ext, ".")
}

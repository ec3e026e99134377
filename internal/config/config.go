// Package config gives every subcommand the same three sources for a flag,
// in order of precedence: the command line, the environment twin
// TONGXIN_<FLAG> (upper case, dashes as underscores), and a key of the same
// name in the YAML file named by --config. A mistake names where it is: the
// flag, the variable, or the file and line.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// EnvName is the environment twin of a flag name.
func EnvName(flagName string) string {
	return "TONGXIN_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// File is a parsed YAML config file. Top-level scalar keys fill flags;
// other top-level keys are sections decoded by the part that owns them.
type File struct {
	Path string
	keys map[string]*yaml.Node // value nodes by key
	pos  map[string]int        // line of each key
}

// MaxFileSize bounds a config file: a real one is a few kilobytes, and a
// bigger one is a wrong path (a log, a dump) better refused than parsed.
const MaxFileSize = 1 << 20

// Load reads a YAML config file; an empty path gives an empty File.
func Load(path string) (*File, error) {
	if path == "" {
		return parse(path, nil)
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("config %s: more than %d KiB; a config file is a few keys (wrong file?)", path, MaxFileSize>>10)
	}
	return parse(path, b)
}

// parse reads a config file's content; path names it in errors.
func parse(path string, b []byte) (*File, error) {
	f := &File{Path: path, keys: map[string]*yaml.Node{}, pos: map[string]int{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if len(doc.Content) == 0 {
		return f, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("config %s:%d: want a mapping of keys to values at the top", path, root.Line)
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if _, dup := f.keys[k.Value]; dup {
			return nil, fmt.Errorf("config %s:%d: key %q given twice", path, k.Line, k.Value)
		}
		f.keys[k.Value], f.pos[k.Value] = v, k.Line
	}
	return f, nil
}

// Section decodes the top-level key name into v; a missing key leaves v as it is.
func (f *File) Section(name string, v any) error {
	n, ok := f.keys[name]
	if !ok {
		return nil
	}
	if err := n.Decode(v); err != nil {
		return fmt.Errorf("config %s:%d: %s: %w", f.Path, f.pos[name], name, err)
	}
	return nil
}

// Parse parses args into fs, then fills every flag not given on the command
// line from its environment twin, then from the config file (the flag
// "config", if fs has one). known lists every key any subcommand accepts, so
// one file can serve several services while a misspelt key is still an error.
//
// Flags may come before, between or after the positional arguments
// (`tongxin auth douyin amb07 --code X`); Parse returns the positional ones.
func Parse(fs *flag.FlagSet, args []string, known map[string]bool) (*File, []string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
	file, err := fill(fs, known)
	return file, positional, err
}

// fill sets the flags not given on the command line from the environment
// and the config file.
func fill(fs *flag.FlagSet, known map[string]bool) (*File, error) {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] {
			return
		}
		if v, ok := os.LookupEnv(EnvName(f.Name)); ok {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", EnvName(f.Name), v, err))
			}
			set[f.Name] = true
		}
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	path := ""
	if f := fs.Lookup("config"); f != nil {
		path = f.Value.String()
	}
	file, err := Load(path)
	if err != nil {
		return nil, err
	}
	return file, apply(fs, file, set, known)
}

// apply sets the flags not in set from the file's keys.
func apply(fs *flag.FlagSet, file *File, set, known map[string]bool) error {
	var errs []error
	path := file.Path
	keys := make([]string, 0, len(file.keys))
	for k := range file.keys {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return file.pos[keys[i]] < file.pos[keys[j]] })
	for _, key := range keys {
		node, line := file.keys[key], file.pos[key]
		f := fs.Lookup(key)
		if f == nil {
			if !known[key] {
				errs = append(errs, fmt.Errorf("config %s:%d: unknown key %s", path, line, clip(key)))
			}
			continue
		}
		if set[key] {
			continue
		}
		if node.Kind != yaml.ScalarNode {
			errs = append(errs, fmt.Errorf("config %s:%d: %s: want a single value", path, line, key))
			continue
		}
		if err := fs.Set(key, node.Value); err != nil {
			errs = append(errs, fmt.Errorf("config %s:%d: %s: %s: %w", path, line, key, clip(node.Value), err))
		}
	}
	return errors.Join(errs...)
}

// clip quotes a value for an error message, cut to 64 bytes.
func clip(v string) string {
	if len(v) <= 64 {
		return strconv.Quote(v)
	}
	cut := 64
	for cut > 0 && !utf8.RuneStart(v[cut]) {
		cut--
	}
	return fmt.Sprintf("%s…(%d bytes)", strconv.Quote(v[:cut]), len(v))
}

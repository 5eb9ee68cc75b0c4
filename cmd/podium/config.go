package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The config file holds serve's flags by name (`http-port: 7880`), so every flag has a key and
// the flag's own parser checks the value. A flag on the command line beats its environment
// variable, which beats the file, which beats the built-in default.

// maxConfigSize bounds what is read: a config file is a page, not a data set.
const maxConfigSize = 1 << 20

// configValue is one key's value, ready for flag.Value.Set, and where it was written.
type configValue struct {
	value string
	line  int
}

// readConfig reads a config file: a YAML mapping of flag names to values. A list becomes a
// comma-separated value (node-ip, allowed-app-urls); keys may also be a mapping of key to secret.
func readConfig(path string) (map[string]configValue, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	if len(data) > maxConfigSize {
		return nil, fmt.Errorf("%s: over %d bytes", path, maxConfigSize)
	}
	return parseConfig(path, data)
}

func parseConfig(path string, data []byte) (map[string]configValue, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return map[string]configValue{}, nil // an empty file sets nothing
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: one YAML document expected", path)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: want a mapping of flag names to values, e.g. \"http-port: 7880\"", path, root.Line)
	}
	out := make(map[string]configValue, len(root.Content)/2)
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("%s:%d: a key must be a flag name", path, k.Line)
		}
		if _, dup := out[k.Value]; dup {
			return nil, fmt.Errorf("%s:%d: %s: given twice", path, k.Line, k.Value)
		}
		s, err := configScalar(k.Value, v)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %s: %w", path, v.Line, k.Value, err)
		}
		out[k.Value] = configValue{value: s, line: k.Line}
	}
	return out, nil
}

// configScalar turns a value node into the text its flag parses.
func configScalar(key string, v *yaml.Node) (string, error) {
	switch v.Kind {
	case yaml.ScalarNode:
		if v.Tag == "!!null" {
			return "", nil
		}
		return v.Value, nil
	case yaml.SequenceNode:
		items := make([]string, 0, len(v.Content))
		for _, it := range v.Content {
			if it.Kind != yaml.ScalarNode {
				return "", errors.New("a list of plain values expected")
			}
			items = append(items, it.Value)
		}
		return strings.Join(items, ","), nil
	case yaml.MappingNode:
		if key != "keys" {
			return "", errors.New("a mapping is allowed for keys only (key: secret)")
		}
		pairs := make([]string, 0, len(v.Content)/2)
		for i := 0; i+1 < len(v.Content); i += 2 {
			if v.Content[i].Kind != yaml.ScalarNode || v.Content[i+1].Kind != yaml.ScalarNode {
				return "", errors.New("want key: secret pairs")
			}
			pairs = append(pairs, v.Content[i].Value+":"+v.Content[i+1].Value)
		}
		return strings.Join(pairs, ","), nil
	default:
		return "", errors.New("unsupported value (aliases and anchors are not)")
	}
}

// flagSource says where each flag's effective value came from.
type flagSource map[string]string

// applyConfig sets, from the file, every flag that neither the command line nor its
// environment variable set. Unknown keys and bad values are errors naming the file, line and key.
func applyConfig(fs *flag.FlagSet, path string, values map[string]configValue, src flagSource) error {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := values[k]
		fl := fs.Lookup(k)
		if fl == nil || k == "config" {
			return fmt.Errorf("%s:%d: %s: unknown key (the keys are serve's flag names; see podium serve -h)", path, v.line, k)
		}
		if src[k] != "" {
			continue // the command line or the environment said otherwise
		}
		if err := fs.Set(k, v.value); err != nil {
			return fmt.Errorf("%s:%d: %s: %w", path, v.line, k, err)
		}
		src[k] = fmt.Sprintf("%s:%d", path, v.line)
	}
	return nil
}

// locate adds where a flag's value was written to an error about it: every check names its
// flag first ("--http-port 0: ..."), and a value from the file should point at its line.
func (src flagSource) locate(err error) error {
	if err == nil {
		return nil
	}
	rest, ok := strings.CutPrefix(err.Error(), "--")
	if !ok {
		return err
	}
	name, _, _ := strings.Cut(rest, " ")
	name = strings.TrimSuffix(name, ":")
	if from := src[name]; from != "" && from != "flag" && !strings.HasPrefix(from, "env ") {
		return fmt.Errorf("%w (set in %s)", err, from)
	}
	return err
}

// sourcesBefore records which flags the command line set and which have an environment
// variable that set their default.
func sourcesBefore(fs *flag.FlagSet) flagSource {
	src := flagSource{}
	fs.VisitAll(func(fl *flag.Flag) {
		// A flag read from the environment says so in its usage ("[PODIUM_HTTP_PORT]").
		if v := os.Getenv(envName(fl.Name)); v != "" && strings.Contains(fl.Usage, "["+envName(fl.Name)) {
			src[fl.Name] = "env " + envName(fl.Name)
		}
	})
	fs.Visit(func(fl *flag.Flag) { src[fl.Name] = "flag" })
	return src
}

// configPrint writes the effective config, in the file's format, with where each value came
// from and secrets masked.
func configPrint(args []string, w io.Writer) error {
	fs, _, src, err := loadServeFlags(args)
	if err != nil {
		return err
	}
	var b strings.Builder
	fs.VisitAll(func(fl *flag.Flag) {
		if fl.Name == "config" {
			return
		}
		v := fl.Value.String()
		if fl.Name == "keys" {
			v = maskSecrets(v)
		}
		if fl.Name == "turn-secret" && v != "" {
			v = "****"
		}
		from := src[fl.Name]
		if from == "" {
			from = "default"
		}
		fmt.Fprintf(&b, "%s: %s # %s\n", fl.Name, yamlText(v), from)
	})
	_, err = io.WriteString(w, b.String())
	return err
}

// yamlText writes v as YAML reads it back: plain where it can be (7880, true, 5m0s), quoted where
// plain text would read as something else (an empty value, a leading "*").
func yamlText(v string) string {
	var n yaml.Node
	if v != "" && yaml.Unmarshal([]byte(v), &n) == nil && len(n.Content) == 1 &&
		n.Content[0].Kind == yaml.ScalarNode && n.Content[0].Value == v && n.Content[0].Style == 0 {
		return v
	}
	q, _ := yaml.Marshal(v)
	return strings.TrimSpace(string(q))
}

// maskSecrets keeps each key's name and hides its secret.
func maskSecrets(keys string) string {
	var out []string
	for pair := range listItems(keys) {
		name, _, _ := strings.Cut(pair, ":")
		out = append(out, name+":****")
	}
	return strings.Join(out, ",")
}

func config(args []string, w io.Writer) error {
	if len(args) == 0 || args[0] != "print" {
		return errors.New("usage: podium config print [--config FILE] [serve flags]")
	}
	return configPrint(args[1:], w)
}

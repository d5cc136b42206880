// An MCP-style stdio server that writes the values of its MWENC_* variables
// back in every spelling Go's standard library produces: encoding/json with
// its default HTML escaping (\u0026 \u003c \u003e, \u2028) and without it,
// JSON inside a JSON string, base64 (standard, URL, raw), encoding/pem
// (64-column wrapped), hex, url.QueryEscape (form) and url.PathEscape. One
// response per request line with an "id"; each spelling also on stderr, as
// plain text and as a JSON log line. Used by tests/encoders.rs.
package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"
)

type spelling struct {
	Key   string
	Value string
}

func values() []string {
	var keys []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "MWENC_") {
			keys = append(keys, kv[:strings.IndexByte(kv, '=')])
		}
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		out = append(out, os.Getenv(k))
	}
	return out
}

func spellings(v string) map[string]string {
	b := []byte(v)
	return map[string]string{
		"raw":        v,
		"b64":        base64.StdEncoding.EncodeToString(b),
		"b64url":     base64.URLEncoding.EncodeToString(b),
		"b64raw":     base64.RawStdEncoding.EncodeToString(b),
		"pem":        string(pem.EncodeToMemory(&pem.Block{Type: "SECRET", Bytes: b})),
		"hex":        hex.EncodeToString(b),
		"query":      url.QueryEscape(v),
		"path":       url.PathEscape(v),
		"url":        "https://api.example/x?token=" + url.QueryEscape(v) + "&a=1",
		"queryValue": url.Values{"token": {v}, "a": {"b"}}.Encode(),
	}
}

func noHTML(v interface{}) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return strings.TrimSuffix(buf.String(), "\n")
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<26)
	for in.Scan() {
		var msg map[string]json.RawMessage
		if json.Unmarshal(in.Bytes(), &msg) != nil {
			continue
		}
		id, ok := msg["id"]
		if !ok {
			continue
		}
		var docs []map[string]string
		for _, v := range values() {
			docs = append(docs, spellings(v))
		}
		html, _ := json.Marshal(docs)
		inner, _ := json.Marshal(map[string]string{"inner": string(html)})
		texts := []string{string(html), noHTML(docs), string(inner)}
		var content []map[string]string
		for _, t := range texts {
			content = append(content, map[string]string{"type": "text", "text": t})
		}
		resp, _ := json.Marshal(map[string]interface{}{
			"jsonrpc": "2.0",
			"id":      id,
			"result":  map[string]interface{}{"content": content},
		})
		os.Stdout.Write(append(resp, '\n'))
		for _, d := range docs {
			keys := make([]string, 0, len(d))
			for k := range d {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(os.Stderr, "%s: %s\n", k, d[k])
			}
			logLine, _ := json.Marshal(map[string]interface{}{"level": "info", "doc": d})
			os.Stderr.Write(append(logLine, '\n'))
		}
	}
}

package main

import (
	"bytes"
	"encoding/json"
	htemplate "html/template"
	"fmt"
	"os"
	"text/template"

	"github.com/Masterminds/sprig/v3"
)

type Case struct {
	Name     string          `json:"name"`
	Template string          `json:"template"`
	Data     json.RawMessage `json:"data"`
	HTML     bool            `json:"html"`
}

type Result struct {
	Name   string `json:"name"`
	Output string `json:"output,omitempty"`
	Error  string `json:"error,omitempty"`
}

func ints(v any) any {
	switch x := v.(type) {
	case float64:
		if x == float64(int64(x)) && x < 1e15 && x > -1e15 {
			return int(x)
		}
		return x
	case map[string]any:
		for k, e := range x {
			x[k] = ints(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = ints(e)
		}
		return x
	}
	return v
}

func run(c Case) Result {
	var data any
	if len(c.Data) > 0 {
		if err := json.Unmarshal(c.Data, &data); err != nil {
			return Result{Name: c.Name, Error: "bad data: " + err.Error()}
		}
	}
	data = ints(data)
	var b bytes.Buffer
	var err error
	if c.HTML {
		var t *htemplate.Template
		t, err = htemplate.New(c.Name).Funcs(sprig.HtmlFuncMap()).Parse(c.Template)
		if err == nil {
			err = t.Execute(&b, data)
		}
	} else {
		var t *template.Template
		t, err = template.New(c.Name).Funcs(sprig.TxtFuncMap()).Parse(c.Template)
		if err == nil {
			err = t.Execute(&b, data)
		}
	}
	if err != nil {
		return Result{Name: c.Name, Output: b.String(), Error: err.Error()}
	}
	return Result{Name: c.Name, Output: b.String()}
}

func main() {
	var cases []Case
	if err := json.NewDecoder(os.Stdin).Decode(&cases); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out := make([]Result, 0, len(cases))
	for _, c := range cases {
		out = append(out, run(c))
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	_ = enc.Encode(out)
}

// Package ipynb reads and writes Jupyter notebook files (nbformat 4),
// keeping every field it does not know as it was, and reads nbgrader's
// cell metadata (nbgrader.go). atonce's assign and grade commands work on
// notebooks through it.
package ipynb

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Notebook is a notebook file: its cells, and every other top-level field
// (metadata, nbformat, nbformat_minor) as it was read.
type Notebook struct {
	Cells  []*Cell
	fields map[string]json.RawMessage
}

// Cell is one cell: its fields as read, with accessors for those atonce
// changes. Unknown fields are written back unchanged.
type Cell struct {
	fields map[string]json.RawMessage
}

// The cell types of nbformat 4.
const (
	Code     = "code"
	Markdown = "markdown"
	Raw      = "raw"
)

// Parse reads a notebook from its JSON. It accepts nbformat 4, with a
// cell's source as a string or a list of lines.
func Parse(b []byte) (*Notebook, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return nil, fmt.Errorf("not a notebook (its JSON does not read: %w)", err)
	}
	var major int
	if raw, ok := fields["nbformat"]; !ok || json.Unmarshal(raw, &major) != nil || major != 4 {
		return nil, errors.New("not a notebook of nbformat 4 (the version Jupyter writes): no \"nbformat\": 4")
	}
	var cells []map[string]json.RawMessage
	if err := json.Unmarshal(fields["cells"], &cells); err != nil {
		return nil, fmt.Errorf("the notebook's cells do not read: %w", err)
	}
	nb := &Notebook{fields: fields}
	for i, f := range cells {
		c := &Cell{fields: f}
		if c.Type() == "" {
			return nil, fmt.Errorf("cell %d has no cell_type", i+1)
		}
		if _, err := c.source(); err != nil {
			return nil, fmt.Errorf("cell %d: %w", i+1, err)
		}
		nb.Cells = append(nb.Cells, c)
	}
	delete(nb.fields, "cells")
	return nb, nil
}

// Read reads the notebook file at path.
func Read(path string) (*Notebook, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	nb, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return nb, nil
}

// Marshal writes the notebook as Jupyter does: keys sorted, one space of
// indent, no HTML escaping, sources as lists of lines, a final newline.
func (nb *Notebook) Marshal() ([]byte, error) {
	cells := make([]map[string]json.RawMessage, len(nb.Cells))
	for i, c := range nb.Cells {
		cells[i] = c.fields
	}
	all := map[string]any{"cells": cells}
	for k, v := range nb.fields {
		all[k] = v
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(all); err != nil {
		return nil, fmt.Errorf("encoding the notebook: %w", err)
	}
	return buf.Bytes(), nil
}

// Write writes the notebook to path.
func (nb *Notebook) Write(path string) error {
	b, err := nb.Marshal()
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// Clone returns a copy of nb that shares nothing it could change.
func (nb *Notebook) Clone() *Notebook {
	out := &Notebook{fields: clone(nb.fields)}
	for _, c := range nb.Cells {
		out.Cells = append(out.Cells, c.Clone())
	}
	return out
}

// Language is the notebook's kernel language (metadata.kernelspec.language),
// or "".
func (nb *Notebook) Language() string {
	var meta struct {
		Kernelspec struct {
			Language string `json:"language"`
		} `json:"kernelspec"`
	}
	_ = json.Unmarshal(nb.fields["metadata"], &meta)
	return meta.Kernelspec.Language
}

func clone(m map[string]json.RawMessage) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		out[k] = append(json.RawMessage(nil), v...)
	}
	return out
}

// Clone returns a copy of c.
func (c *Cell) Clone() *Cell { return &Cell{fields: clone(c.fields)} }

// Type is the cell's cell_type: Code, Markdown or Raw.
func (c *Cell) Type() string {
	var t string
	_ = json.Unmarshal(c.fields["cell_type"], &t)
	return t
}

// Source is the cell's text.
func (c *Cell) Source() string {
	s, _ := c.source()
	return s
}

func (c *Cell) source() (string, error) {
	raw, ok := c.fields["source"]
	if !ok {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var lines []string
	if err := json.Unmarshal(raw, &lines); err != nil {
		return "", errors.New("its source is neither a string nor a list of lines")
	}
	return strings.Join(lines, ""), nil
}

// SetSource replaces the cell's text; it is written as a list of lines,
// as Jupyter writes it.
func (c *Cell) SetSource(s string) {
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	c.set("source", append([]string{}, lines...))
}

// ClearOutputs removes a code cell's outputs and execution count.
func (c *Cell) ClearOutputs() {
	if c.Type() != Code {
		return
	}
	c.set("outputs", []any{})
	c.fields["execution_count"] = json.RawMessage("null")
}

// Metadata decodes the cell's metadata field key into v, and tells
// whether the cell has it.
func (c *Cell) Metadata(key string, v any) (bool, error) {
	var meta map[string]json.RawMessage
	if raw, ok := c.fields["metadata"]; ok {
		if err := json.Unmarshal(raw, &meta); err != nil {
			return false, fmt.Errorf("its metadata is not a JSON object: %w", err)
		}
	}
	raw, ok := meta[key]
	if !ok {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return true, fmt.Errorf("its metadata %q does not read: %w", key, err)
	}
	return true, nil
}

// SetMetadata sets the cell's metadata field key to v (nil removes it).
func (c *Cell) SetMetadata(key string, v any) error {
	meta := map[string]json.RawMessage{}
	if raw, ok := c.fields["metadata"]; ok {
		if err := json.Unmarshal(raw, &meta); err != nil {
			return fmt.Errorf("its metadata is not a JSON object: %w", err)
		}
	}
	if v == nil {
		delete(meta, key)
	} else {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		meta[key] = b
	}
	c.set("metadata", meta)
	return nil
}

// SetOutputs replaces a code cell's outputs (nbformat output objects) and
// its execution count.
func (c *Cell) SetOutputs(outputs []map[string]any, count int) {
	if outputs == nil {
		outputs = []map[string]any{}
	}
	c.set("outputs", outputs)
	c.set("execution_count", count)
}

func (c *Cell) set(key string, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(fmt.Sprintf("ipynb: encoding a cell's %s: %v", key, err)) // only JSON-able values are set
	}
	c.fields[key] = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// Package display shows rich output (HTML, images, JSON, ...) in the
// notebook. Cells import it as "atonce/display"; host code in the engine
// (charts drawn by the models) calls it directly.
//
// Every function publishes one display at once and returns a Handle whose
// Update replaces that display in place, for progress that redraws.
// Nothing is shown until a publisher is installed with SetPublisher; the
// interpreter session installs one when it starts.
package display

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"image"
	"image/png"
	"regexp"
	"strings"
	"sync/atomic"

	"atonce/internal/enginemsg"

	"github.com/google/uuid"
)

// A Publisher delivers a display event (kind enginemsg.EventDisplay,
// EventUpdateDisplay or EventClearOutput) to the notebook. It may be called
// from any goroutine.
type Publisher func(ev enginemsg.Event)

var publisher atomic.Pointer[Publisher]

// SetPublisher installs p as the destination of all displays; nil drops
// them. It returns the publisher it replaces.
func SetPublisher(p Publisher) Publisher {
	var old *Publisher
	if p == nil {
		old = publisher.Swap(nil)
	} else {
		old = publisher.Swap(&p)
	}
	if old == nil {
		return nil
	}
	return *old
}

func publish(ev enginemsg.Event) {
	if p := publisher.Load(); p != nil {
		(*p)(ev)
	}
}

// kind names what a Handle shows, so Update can take the same content as
// the function that made it.
type kind int

const (
	kindData kind = iota
	kindHTML
	kindMarkdown
	kindSVG
	kindPNG
	kindJPEG
	kindJSON
	kindLatex
	kindText
	kindImage
)

// Handle is a display already shown in the notebook.
type Handle struct {
	id   string
	kind kind
}

// ID returns the display's id, as Jupyter's transient display_id.
func (h *Handle) ID() string { return h.id }

// Update replaces the display's content in place. content is of the kind
// the Handle was made with: a string for HTML, Markdown, SVG, Latex and
// Text, []byte for PNG and JPEG, an image.Image for Image, any JSON-able
// value for JSON, a bundle for Data. It returns an error when content is of
// another kind or cannot be encoded, and then changes nothing.
func (h *Handle) Update(content any) error {
	b, err := bundle(h.kind, content)
	if err != nil {
		return err
	}
	publish(enginemsg.Event{Kind: enginemsg.EventUpdateDisplay, Data: b, DisplayID: h.id})
	return nil
}

func show(k kind, content any) *Handle {
	h := &Handle{id: uuid.NewString(), kind: k}
	b, err := bundle(k, content)
	if err != nil {
		b = enginemsg.Bundle{"text/plain": err.Error()}
	}
	publish(enginemsg.Event{Kind: enginemsg.EventDisplay, Data: b, DisplayID: h.id})
	return h
}

// HTML shows an HTML fragment.
func HTML(s string) *Handle { return show(kindHTML, s) }

// Markdown shows Markdown text.
func Markdown(s string) *Handle { return show(kindMarkdown, s) }

// SVG shows an SVG image given as its XML text.
func SVG(s string) *Handle { return show(kindSVG, s) }

// PNG shows a PNG-encoded image.
func PNG(b []byte) *Handle { return show(kindPNG, b) }

// JPEG shows a JPEG-encoded image.
func JPEG(b []byte) *Handle { return show(kindJPEG, b) }

// JSON shows v as an interactive JSON tree; v must encode with encoding/json.
func JSON(v any) *Handle { return show(kindJSON, v) }

// Latex shows a LaTeX formula, such as `$\frac{a}{b}$`.
func Latex(s string) *Handle { return show(kindLatex, s) }

// Text shows plain text as its own output.
func Text(s string) *Handle { return show(kindText, s) }

// Image shows img, encoded as PNG.
func Image(img image.Image) *Handle { return show(kindImage, img) }

// Data shows a MIME bundle as it is: MIME type to content, text types as
// strings, images as base64 strings. Include "text/plain" as a fallback.
func Data(b enginemsg.Bundle) *Handle { return show(kindData, b) }

// Clear clears the cell's output. With wait, the output is cleared only
// when new output arrives, which avoids flicker in animations.
func Clear(wait bool) {
	publish(enginemsg.Event{Kind: enginemsg.EventClearOutput, Wait: wait})
}

// bundle encodes content as the MIME bundle for kind k.
func bundle(k kind, content any) (enginemsg.Bundle, error) {
	wrong := func() error {
		return fmt.Errorf("display: cannot show a %T here; give %s", content, k.want())
	}
	switch k {
	case kindData:
		switch b := content.(type) {
		case enginemsg.Bundle:
			return b, nil
		case map[string]any:
			return enginemsg.Bundle(b), nil
		}
		return nil, wrong()
	case kindJSON:
		data, err := json.Marshal(content)
		if err != nil {
			return nil, fmt.Errorf("display: cannot show %T as JSON: %w", content, err)
		}
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			return nil, fmt.Errorf("display: cannot show %T as JSON: %w", content, err)
		}
		indented, _ := json.MarshalIndent(v, "", "  ")
		return enginemsg.Bundle{"application/json": v, "text/plain": string(indented)}, nil
	case kindImage:
		img, ok := content.(image.Image)
		if !ok {
			return nil, wrong()
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			return nil, fmt.Errorf("display: encoding the image as PNG: %w", err)
		}
		r := img.Bounds()
		return imageBundle("image/png", buf.Bytes(), fmt.Sprintf("<image %dx%d>", r.Dx(), r.Dy())), nil
	case kindPNG, kindJPEG:
		b, ok := content.([]byte)
		if !ok {
			return nil, wrong()
		}
		mime := "image/png"
		if k == kindJPEG {
			mime = "image/jpeg"
		}
		return imageBundle(mime, b, fmt.Sprintf("<%s image, %d bytes>", strings.TrimPrefix(mime, "image/"), len(b))), nil
	}
	s, ok := content.(string)
	if !ok {
		return nil, wrong()
	}
	switch k {
	case kindHTML:
		return enginemsg.Bundle{"text/html": s, "text/plain": htmlText(s)}, nil
	case kindMarkdown:
		return enginemsg.Bundle{"text/markdown": s, "text/plain": s}, nil
	case kindSVG:
		return enginemsg.Bundle{"image/svg+xml": s, "text/plain": "<SVG image>"}, nil
	case kindLatex:
		return enginemsg.Bundle{"text/latex": s, "text/plain": s}, nil
	default:
		return enginemsg.Bundle{"text/plain": s}, nil
	}
}

func imageBundle(mime string, b []byte, text string) enginemsg.Bundle {
	return enginemsg.Bundle{mime: base64.StdEncoding.EncodeToString(b), "text/plain": text}
}

func (k kind) want() string {
	switch k {
	case kindData:
		return "a map[string]any MIME bundle"
	case kindPNG, kindJPEG:
		return "encoded image bytes ([]byte)"
	case kindImage:
		return "an image.Image"
	case kindJSON:
		return "a value encoding/json can encode"
	default:
		return "a string"
	}
}

var tag = regexp.MustCompile(`<[^>]*>`)

// htmlText is the text/plain fallback of an HTML fragment: its text
// without tags, or a placeholder when that is empty.
func htmlText(s string) string {
	t := strings.TrimSpace(html.UnescapeString(tag.ReplaceAllString(s, "")))
	if t == "" {
		return "<HTML>"
	}
	return t
}

// Bundle is a MIME bundle: MIME type to content (text types as strings,
// JSON types as any JSON value).
type Bundle = enginemsg.Bundle

// Displayer is a value that shows itself: when a cell's final value has a
// method Display() Bundle, the cell shows the bundle it returns instead
// of the value's text.
type Displayer interface {
	Display() Bundle
}

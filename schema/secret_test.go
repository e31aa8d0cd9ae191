package schema

import (
	"reflect"
	"testing"
)

func TestRedactHidesSecretsOnly(t *testing.T) {
	typ := &EntityType{Name: "service", Attributes: []*Attribute{
		{Name: "owner", TypeName: "string"},
		{Name: "api_key", TypeName: "string", Secret: true},
	}}
	if err := typ.init(); err != nil {
		t.Fatal(err)
	}
	attrs := map[string]any{"owner": "ops", "api_key": "hunter2"}
	cases := []struct {
		r      Redaction
		want   map[string]any
		hidden int
	}{
		{Mask, map[string]any{"owner": "ops", "api_key": Masked}, 1},
		{Drop, map[string]any{"owner": "ops"}, 1},
		{Reveal, map[string]any{"owner": "ops", "api_key": "hunter2"}, 0},
	}
	for _, c := range cases {
		got, n := typ.Redact(attrs, c.r)
		if !reflect.DeepEqual(got, c.want) || n != c.hidden {
			t.Errorf("Redact(%v) = %v, %d; want %v, %d", c.r, got, n, c.want, c.hidden)
		}
	}
	if attrs["api_key"] != "hunter2" {
		t.Fatalf("Redact changed its argument: %v", attrs)
	}
	if v := typ.RedactValue("api_key", "hunter2", Drop); v != Masked {
		t.Errorf("RedactValue of a secret: %v", v)
	}
	if v := typ.RedactValue("api_key", nil, Mask); v != nil {
		t.Errorf("RedactValue of an absent secret: %v", v)
	}
	if v := typ.RedactValue("owner", "ops", Mask); v != "ops" {
		t.Errorf("RedactValue of a plain value: %v", v)
	}
	if typ.Hides("api_key", RevealIf(true, Mask)) || !typ.Hides("api_key", RevealIf(false, Drop)) || typ.Hides("nothing", Mask) {
		t.Error("Hides/RevealIf disagree with the rule")
	}
}

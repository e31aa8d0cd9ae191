package ansible

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestHandlerStoreDown checks that a failure before the first byte is a
// 500 with the reason, never an empty inventory.
func TestHandlerStoreDown(t *testing.T) {
	s := inventoryOn(t, "sqlite:"+t.TempDir()+"/tana.db")
	seed(t, s)
	inv, err := New(s, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"/ansible/inventory", "/ansible/inventory?host=web01"} {
		rec := httptest.NewRecorder()
		Handler(inv).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		if rec.Code != http.StatusInternalServerError || !strings.HasPrefix(rec.Body.String(), `{"error":"ansible`) {
			t.Errorf("GET %s on a closed store = %d %q, want 500 with the error", target, rec.Code, rec.Body.String())
		}
	}
}

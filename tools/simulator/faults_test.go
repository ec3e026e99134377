package simulator

import (
	"strings"
	"testing"
)

func TestParseFaultsEnvelope(t *testing.T) {
	f, err := ParseFaults("429=0.05,envelope=0.02")
	if err != nil {
		t.Fatal(err)
	}
	if f.Envelope != 0.02 || f.String() != "429=0.05,envelope=0.02" {
		t.Errorf("parsed %+v (%s)", f, f)
	}
	if _, err := ParseFaults("5xx=0.5,envelope=0.6"); err == nil || !strings.Contains(err.Error(), "more than 1") {
		t.Errorf("probabilities over 1 accepted: %v", err)
	}
}

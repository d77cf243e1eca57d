package strictjson

import (
	"strings"
	"testing"

	"github.com/prometheus/common/model"
)

// TestPlain (#17, defect 20): library errors that name Go types and
// functions read in JSON terms.
func TestPlain(t *testing.T) {
	tests := []struct{ in, want string }{
		{`json: cannot unmarshal number into Go struct field apiResponse.status of type string`,
			`"status" must be a string, not a JSON number`},
		{`json: cannot unmarshal string into Go struct field queryResult.data.result of type []int`,
			`"data.result" must be a list, not a JSON string`},
		{`model.Matrix: unmarshal model.SamplePair: strconv.ParseFloat: parsing "abc": invalid syntax, error found in #10 byte of ...|0830,"abc"]]}]|..., bigger context ...|out"},"values":[[1795960800,"1"],[1795960830,"abc"]]}]|...`,
			`value "abc" is not a number (want a decimal in quotes such as "0.25", or "NaN", "+Inf", "-Inf") (near "out\"},\"values\":[[1795960800,\"1\"],[1795960830,\"abc\"]]}]")`},
		{`model.Matrix: readNumberAsString: invalid number, error found in #10 byte of ...|values":[["x","1"]]}|..., bigger context ...|[{"metric":{"service":"checkout"},"values":[["x","1"]]}]|...`,
			`a timestamp or number is not a number (near "[{\"metric\":{\"service\":\"checkout\"},\"values\":[[\"x\",\"1\"]]}]")`},
		{`model.Matrix: decode slice: expect [ or n, but found {, error found in #1 byte of ...|{"a":1}|..., bigger context ...|{"a":1}|...`,
			`expected a list, found "{" (near "{\"a\":1}")`},
		{`model.Matrix: unmarshal model.SampleStream: ReadString: expects " or n, but found 1, error found in #10 byte of ...|service":1}|..., bigger context ...|{"service":1}|...`,
			`expected a string, found "1" (near "{\"service\":1}")`},
		// Already plain: unchanged.
		{`unexpected end of JSON input`, `unexpected end of JSON input`},
		{`invalid character '<' looking for beginning of value`, `invalid character '<' looking for beginning of value`},
	}
	for _, tt := range tests {
		got := Plain(tt.in)
		if got != tt.want {
			t.Errorf("Plain(%q)\n got %s\nwant %s", tt.in, got, tt.want)
		}
		for _, internal := range []string{"strconv.", "Go struct", "model.", "readNumberAsString", "error found in"} {
			if strings.Contains(got, internal) {
				t.Errorf("Plain(%q) = %q still shows %q", tt.in, got, internal)
			}
		}
	}
}

// TestDecodeNumbers: a custom decoder's strconv failure reads as which
// value is not a number, not as strconv.ParseFloat.
func TestDecodeNumbers(t *testing.T) {
	for _, tt := range []struct{ body, want string }{
		{`[[1714568400,"abc"]]`, `value "abc" is not a number (want a decimal in quotes such as "0.25", or "NaN", "+Inf", "-Inf")`},
		{`[["x","1"]]`, `"x" is not a whole number (want a timestamp in unix seconds such as 1714568400.123)`},
	} {
		var v []model.SamplePair
		err := Decode([]byte(tt.body), &v)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Decode(%s) = %v, want %s", tt.body, err, tt.want)
		}
	}
}

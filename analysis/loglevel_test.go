package analysis

import (
	"strings"
	"testing"
	"time"

	"github.com/rca-tool/rca/telemetry"
)

func TestLineLevel(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{`2018-09-14 11:13:27.260 2268 ERROR nova.compute.manager [req-7be05bcf] Traceback`, "error"},
		{`2023-01-01 12:00:00.000  WARN 1 --- [main] c.t.s.OrderService : retrying`, "warn"},
		{`[ERROR] connection refused`, "error"},
		{`[error] 1234#0: upstream timed out`, "error"},
		{`ERROR:root:payment failed`, "error"},
		{`Error: connection reset by peer`, "error"},
		{`E1207 12:00:00.000000       1 controller.go:114] sync failed`, "error"},
		{`I1207 12:00:00.000000       1 main.go:10] started`, "info"},
		{`{"level":"error","msg":"charge failed","ts":1}`, "error"},
		{`{"ts": 1, "severity": "WARNING", "message": "slow"}`, "warning"},
		{`{"level":50,"msg":"db down"}`, "error"},
		{`{"level":30,"msg":"served"}`, "info"},
		{`{"log":{"level":"fatal"},"msg":"oom"}`, "fatal"},
		{`time=2024-05-14T14:00:00Z level=error msg="upstream timeout"`, "error"},
		{`ts=1 lvl=info caller=main.go:10 msg=ok`, "info"},
		{`ts=1 level="warn" msg=slow`, "warn"},
		{`2024/01/01 00:00:00 [error] 1234#0: *5 upstream timed out`, "error"},
		{`2024-01-01 00:00:00,000 - orders - ERROR - charge failed`, "error"},
		{`12:00:00.000 [main] ERROR c.f.Bar - charge failed`, "error"},
		{`2024-01-01T00:00:00.000Z  INFO 1 --- [main] c.f.App : Started`, "info"},
		{`time=2024-01-01T00:00:00Z level=ERROR msg="db down"`, "error"},
		{`[2024-01-01 00:00:00] production.ERROR: charge failed {"order":42}`, "error"},
		{`[2024-01-01T00:00:00+00:00] app.WARNING: slow query`, "warning"},
		{`[Mon Dec 07 08:51:10.123 2026] [proxy:error] [pid 1] AH00940: backend failed`, "error"},
		{`[Mon Dec 07 08:51:10 2026] [core:notice] [pid 1] AH00094: resuming`, "notice"},
		{`[Mon Dec 07 08:51:10.123456 2026] [http2:trace3] [pid 1:tid 2] h2_stream`, "trace"},
		{`[2024-01-01 00:00:00] app.EMERGENCY: disk gone`, "emergency"},
		{`2024-01-01 12:00:00 [ns:info] ERROR failed`, "error"},
		// Syslog's priority: facility·8 + severity.
		{`<11>1 2024-01-01T12:00:00Z host app 1 - - write failed`, "err"},
		{`<13>Jan  1 12:00:00 host app[1]: started`, "notice"},
		{`<0>Jan  1 12:00:00 host kernel: panic`, "emerg"},
		{`<191>1 2024-01-01T12:00:00Z host app - - - trace`, "debug"},
		{`<12>1 2024-01-01T12:00:00Z host app 1 - - slow`, "warning"},
		// .NET's console logger.
		{`fail: Microsoft.AspNetCore.Server.Kestrel[13]`, "error"},
		{`crit: Shop.Api.Program[0]`, "critical"},
		{`warn: Microsoft.AspNetCore.Hosting.Diagnostics[15]`, "warn"},
		{`info: Microsoft.Hosting.Lifetime[14]`, "info"},
		{`dbug: Shop.Cart[1001]`, "debug"},
		{`trce: Shop.Cart[1]`, "trace"},
		// Serilog's compact JSON.
		{`{"@t":"2024-01-01T12:00:00Z","@mt":"Charge failed","@l":"Error"}`, "error"},
		{`{"@t":"2024-01-01T12:00:00Z","@m":"x","@l":"Warning"}`, "warning"},
		// An exception report, one line each: it states an error.
		{`java.lang.IllegalStateException: pool closed`, "error"},
		{`java.lang.NullPointerException`, "error"},
		{`Caused by: java.lang.RuntimeException: error: x`, "error"},
		{`Suppressed: java.io.IOException: closed`, "error"},
		{`Exception in thread "main" java.lang.OutOfMemoryError: Java heap space`, "error"},
		{"\tat com.shop.cart.CartService.add(CartService.java:42)", "error"},
		{`at com.shop.Api.handle(Api.java:17) ~[app.jar:1.0]`, "error"},
		{`... 42 more`, "error"},
		{`at Shop.Cart.Add(Int32 n) in /src/Cart.cs:line 42`, "error"},
		{`Unhandled exception. System.InvalidOperationException: Sequence contains no elements`, "error"},
		{`---> System.Net.Http.HttpRequestException: Connection refused`, "error"},
		{`System.InvalidOperationException: Sequence contains no elements`, "error"},
		{`    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)`, "error"},
		{`at main (/app/index.js:3:5)`, "error"},
		{`at async main (/app/index.js:3:5)`, "error"},
		{`at async file:///app/index.mjs:3:5`, "error"},
		{`at new Promise (<anonymous>)`, "error"},
		{`at forEach (native)`, "error"},
		{`at main (/app/index.js:3:5`, "error"},
		{`at Layer.handle [as handle_request] (/app/node_modules/express/lib/router/layer.js:95:5)`, "error"},
		{`at /app/node_modules/express/lib/router/index.js:284:7`, "error"},
		{`Traceback (most recent call last):`, "error"},
		{`  File "/app/payment.py", line 42, in charge`, "error"},
		{`ValueError: invalid literal for int() with base 10: 'x'`, "error"},
		{`Exception: boom`, "error"},
		{`grpc._channel._InactiveRpcError: <_InactiveRpcError of RPC that terminated with:`, "error"},
		{`psycopg2.errors.UniqueViolation: duplicate key value`, "error"},
		{`requests.exceptions.Timeout: read timed out`, "error"},
		{`panic: runtime error: index out of range [3] with length 3`, "error"},
		{`fatal error: concurrent map writes`, "error"},
		{`goroutine 7 [running]:`, "error"},
		{`/app/main.go:12 +0x1d`, "error"},
		{`/usr/local/go/src/runtime/panic.go:1038`, "error"},
		// Not a level.
		{`<192>1 2024-01-01T12:00:00Z host app - - - x`, ""},
		{`<1234>1 x`, ""},
		{`<13> spaced`, ""},
		{`<>x`, ""},
		{`<html><body>error page</body></html>`, ""},
		{`<13>`, ""},
		{`fail: to connect`, ""},
		{`info: started in 3[s]`, ""},
		{`warn: Shop.Cart[]`, ""},
		{`fail: Shop.Cart[x1]`, ""},
		{`failed: Shop.Cart[13]`, ""},
		{`fail: 13 retries left`, ""},
		{`x<13>y`, ""},
		{`x13>y`, ""},
		{`<13 no close`, ""},
		{`fail: 13] x`, ""},
		{`fail: x[12 x`, ""},
		{`{"severity":3,"msg":"syslog scale"}`, ""},
		{`{"level":0,"msg":"x"}`, ""},
		{`ts=1 level=-1 msg=x`, ""},
		{`2024/01/01 00:00:00 request ok, error: <nil>`, ""},
		{`2024/01/01 00:00:00 worker: Stack trace: follows`, ""},
		{`at least one retry (3) left`, ""},
		{`at 12:00 (UTC) the job ran`, ""},
		{`at 12:00:05`, ""},
		{`at 10.0.0.5(primary) the connection was reset`, ""},
		{`at startup, loaded config.yaml (3 keys)`, ""},
		{`at startup loaded config.yaml`, ""},
		{`at home (sweet home`, ""},
		{`at a.b.c`, ""},
		{`File "x.py" saved`, ""},
		{`... and 3 more`, ""},
		{`and 12 more`, ""},
		{`goroutine 7 started`, ""},
		{`goroutines [7]`, ""},
		{`main.go:12: listening`, ""},
		{`main.go:12 listening`, ""},
		{`.go:12`, ""},
		{`shop.errors: 3`, ""},
		{`errors.Count: 3`, ""},
		{`x.exceptions.count: 3`, ""},
		{`ConnectionErrorCount: 2`, ""},
		{`_: x`, ""},
		{`myError: x`, ""},
		{`404Error: x`, ""},
		{`at my home:1:2`, ""},
		{`Exception handler installed`, ""},
		{`Exceptions: 0`, ""},
		{`ErrorCount: 3`, ""},
		{`Terror: a film`, ""},
		{`NoSuch-Error: x`, ""},
		{`File saved`, ""},
		{`[ERROR-handler-1] request served`, ""},
		{`E2023 12:00:00 not a month`, ""},
		{`E1001 Invalid input`, ""},
		{`F1234 invoice 42`, ""},
		{`I0000`, ""},
		{`GET /error 500 12ms`, ""},
		{`[2024-01-01 00:00:00] production.ERROR retried`, ""},
		{`[proxy:ERROR] shouted`, ""},
		{`[proxy:error trailing`, ""},
		{`Retrying...ERROR: timeout`, ""},
		{`[2024-01-01 00:00:00] bad..ERROR: x`, ""},
		{`[2024-01-01 00:00:00] a/b.ERROR: x`, ""},
		{`job failed: status.ERROR: x`, ""},
		{`main.go:12: cfg.WARN: x`, ""},
		{`got [a:error] back`, ""},
		{`user login failed: error while checking password`, ""},
		{`2024-05-14 14:00:00 request handled in 12ms, 0 errors`, ""},
		{`{"msg":"level 3 reached","level_name":"x"}`, ""},
		{`{"level":"high","msg":"water"}`, ""},
		{`ts=1 mylevel=error msg=x`, ""},
		{`a b c d e f ERROR late in the message`, ""},
		{`E12a7 not klog`, ""},
		{``, ""},
	} {
		if got := lineLevel(tc.line); got != tc.want {
			t.Errorf("lineLevel(%q) = %q, want %q", tc.line, got, tc.want)
		}
	}
}

// FuzzLineLevel: any line gives "" or a known level, the same every time,
// and a line's surrounding blanks change nothing.
func FuzzLineLevel(f *testing.F) {
	for _, s := range []string{`{"level":"error"}`, `level=warn msg=x`, `[ERROR] x`, `E1207 x`, `{"level":`, `level=`, `{"a":"b":}`, `="x`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		got := lineLevel(line)
		if got != "" && !knownLevel(got) {
			t.Fatalf("lineLevel(%q) = %q, not a level", line, got)
		}
		if again := lineLevel("  " + line + "\n"); again != got {
			t.Fatalf("lineLevel(%q) = %q, padded %q", line, got, again)
		}
		if strings.TrimSpace(line) == "" && got != "" {
			t.Fatalf("blank line has level %q", got)
		}
	})
}

// TestUnlabelledErrorLines: a stream whose lines carry their level only in
// their text still shows a service logging new errors: the error-log
// signal moves, and the confidence counts it as the service's own errors.
func TestUnlabelledErrorLines(t *testing.T) {
	f := newFixture(9).add("cpu_usage", svc("api"), stepAt(5, 10, 60), 1)
	for m := -60; m < 30; m++ {
		f.b.Logs = append(f.b.Logs, telemetry.LogLine{T: t0.Add(time.Duration(m) * time.Minute), Labels: svc("api"), Line: `time=x level=info msg="served"`})
		if m >= 5 {
			for range 5 {
				f.b.Logs = append(f.b.Logs, telemetry.LogLine{T: t0.Add(time.Duration(m)*time.Minute + time.Second), Labels: svc("api"), Line: `time=x level=error msg="charge failed"`})
			}
		}
	}
	res := Analyze(f.b, defaultCatalog(), Options{})
	if len(res.RootCauses) == 0 || res.RootCauses[0].Service != "api" {
		t.Fatalf("root causes %+v, want api", res.RootCauses)
	}
	if got := res.RootCauses[0].Features[7]; got != 1 {
		t.Errorf("errors feature %v, want 1 (its own new errors)", got)
	}
	found := false
	for _, a := range res.Anomalies {
		found = found || a.Service == "api" && a.SignalID == "log_errors"
	}
	if !found {
		t.Errorf("no error-log anomaly on api among %d anomalies", len(res.Anomalies))
	}
}

// TestUncaughtExceptionLines: a JVM's uncaught exception reaches the log
// as its own lines, the exception and its frames, with no level: the
// service logged new errors.
func TestUncaughtExceptionLines(t *testing.T) {
	f := newFixture(9).add("cpu_usage", svc("api"), stepAt(5, 10, 60), 1)
	for m := -60; m < 30; m++ {
		at := t0.Add(time.Duration(m) * time.Minute)
		f.b.Logs = append(f.b.Logs, telemetry.LogLine{T: at, Labels: svc("api"), Line: `2024-01-01 00:00:00.000  INFO 1 --- [main] c.s.Api : served`})
		if m >= 5 {
			for i, l := range []string{`Exception in thread "pool-1" java.lang.IllegalStateException: pool closed`, "\tat com.shop.Pool.get(Pool.java:42)", "\tat com.shop.Api.handle(Api.java:17)"} {
				f.b.Logs = append(f.b.Logs, telemetry.LogLine{T: at.Add(time.Duration(i+1) * time.Millisecond), Labels: svc("api"), Line: l})
			}
		}
	}
	res := Analyze(f.b, defaultCatalog(), Options{})
	if len(res.RootCauses) == 0 || res.RootCauses[0].Service != "api" {
		t.Fatalf("root causes %+v, want api", res.RootCauses)
	}
	if got := res.RootCauses[0].Features[7]; got != 1 {
		t.Errorf("errors feature %v, want 1 (the exception is new)", got)
	}
}

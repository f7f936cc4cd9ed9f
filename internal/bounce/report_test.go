package bounce

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// testVERP stands in for the VERP address in the fixtures.
const testVERP = "b-abc@bounces.example"

// fixture returns testdata/name with {{VERP}} replaced by verp.
func fixture(t testing.TB, name, verp string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return []byte(strings.ReplaceAll(string(raw), "{{VERP}}", verp))
}

func TestParseReport(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file       string
		want       Recipient
		feedback   string
		returnPath string
		messageID  string
	}{
		{file: "postfix-hard.eml", want: Recipient{Final: "hanako@example.org", Original: "hanako@example.org", Action: "failed", Status: "5.1.1",
			Diagnostic: "550 5.1.1 <hanako@example.org>: Recipient address rejected: User unknown in virtual mailbox table", Outcome: OutcomeHard},
			messageID: "0b6c2a52-3f3e-4d61-9a53-4d8f9b1f7a10@outbox.example"},
		{file: "postfix-delayed.eml", want: Recipient{Final: "hanako@example.org", Original: "hanako@example.org", Action: "delayed", Status: "4.4.1",
			Diagnostic: "connect to mail.example.org[192.0.2.10]:25: Connection timed out", Outcome: OutcomeDelayed}},
		{file: "exim-hard.eml", want: Recipient{Final: "taro@example.net", Action: "failed", Status: "5.0.0",
			Diagnostic: "550 5.1.1 <taro@example.net>: mailbox does not exist", Outcome: OutcomeHard},
			returnPath: testVERP, messageID: "7e0b9d0e-2b1c-4c8e-8f51-0a3c1d2e9f44@acme.example"},
		{file: "gmail-hard.eml", want: Recipient{Final: "no.such.person@gmail.example", Action: "failed", Status: "5.1.1",
			Diagnostic: "550-5.1.1 The email account that you tried to reach does not exist. Please try 550-5.1.1 double-checking the recipient's email address for typos or 550 5.1.1 unnecessary spaces. x14si1234567wrn.42 - gsmtp", Outcome: OutcomeHard},
			messageID: "4c1f7d2a-8e6b-4a39-b0c2-5d9e8f7a6b1c@outbox.example"},
		{file: "microsoft365-hard.eml", want: Recipient{Final: "ines.muller@contoso.example", Action: "failed", Status: "5.1.10",
			Diagnostic: "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient ines.muller@contoso.example not found by SMTP address lookup", Outcome: OutcomeHard},
			returnPath: testVERP, messageID: "91d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f@outbox.example"},
		{file: "yahoo-hard.eml", want: Recipient{Final: "kenji.sato@yahoo.example", Action: "failed", Status: "5.0.0",
			Diagnostic: "554 delivery error: dd This user doesn't have a yahoo.example account (kenji.sato@yahoo.example) [0]", Outcome: OutcomeHard},
			messageID: "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d@outbox.example"},
		{file: "arf-complaint.eml", want: Recipient{Final: "mei.lin@mailbox-provider.example", Outcome: OutcomeComplaint},
			feedback: "abuse", returnPath: testVERP, messageID: "c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f@outbox.example"},
		{file: "arf-redacted.eml", want: Recipient{Outcome: OutcomeComplaint}, feedback: "abuse"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			rep, err := ParseReport(fixture(t, tc.file, testVERP))
			require.NoError(t, err)
			require.Equal(t, []Recipient{tc.want}, rep.Recipients)
			require.Equal(t, tc.feedback, rep.FeedbackType)
			require.Equal(t, tc.returnPath, rep.ReturnPath)
			require.Equal(t, tc.messageID, rep.MessageID)
		})
	}
}

func TestParseReportRefuses(t *testing.T) {
	t.Parallel()
	for name, raw := range map[string]string{
		"legacy plain-text notice": string(fixture(t, "yahoo-legacy-notice.eml", testVERP)),
		"auto-reply":               "From: a@example.org\r\nSubject: Out of office\r\n\r\nI am away.\r\n",
		"report without status":    "Content-Type: multipart/report; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n--x--\r\n",
		"empty":                    "",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseReport([]byte(raw))
			require.True(t, errors.Is(err, ErrNotReport), "%v", err)
		})
	}
	_, err := ParseReport([]byte("Content-Type: multipart/report; boundary=x\r\n\r\n--x\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; a\r\n\r\n--x--\r\n"))
	require.Error(t, err, "a status without recipients")
	require.False(t, errors.Is(err, ErrNotReport))
}

func TestClassify(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		action, status string
		want           Outcome
	}{
		{"failed", "5.1.1", OutcomeHard},
		{"failed", "5.1.10", OutcomeHard},
		{"failed", "5.0.0", OutcomeHard},
		{"failed", "5.4.4", OutcomeHard},
		{"failed", "5.2.1", OutcomeHard},
		{"failed", "5.2.2", OutcomeSoft}, // mailbox full
		{"failed", "5.3.4", OutcomeSoft}, // message too big
		{"failed", "5.7.1", OutcomeSoft}, // policy: not the address's fault
		{"failed", "4.4.7", OutcomeSoft}, // retries given up
		{"failed", "", OutcomeSoft},
		{"delayed", "4.4.1", OutcomeDelayed},
		{"delivered", "2.0.0", OutcomeNone},
		{"relayed", "2.0.0", OutcomeNone},
	} {
		require.Equal(t, tc.want, classify(tc.action, tc.status), "%s %s", tc.action, tc.status)
	}
}

func TestParseReportBoundsRecipients(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("Content-Type: multipart/report; boundary=x\r\n\r\n--x\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; a\r\n")
	for range 3 * maxRecipients {
		b.WriteString("\r\nFinal-Recipient: rfc822; a@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n")
	}
	b.WriteString("\r\n--x--\r\n")
	rep, err := ParseReport([]byte(b.String()))
	require.NoError(t, err)
	require.Len(t, rep.Recipients, maxRecipients)
}

// FuzzParseReport feeds the parser arbitrary mail: it must never panic,
// and what it returns must stay within its bounds.
func FuzzParseReport(f *testing.F) {
	entries, err := os.ReadDir("testdata")
	require.NoError(f, err)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".eml") {
			f.Add(fixture(f, e.Name(), testVERP))
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		rep, err := ParseReport(raw)
		if err != nil {
			return
		}
		require.NotEmpty(t, rep.Recipients)
		require.LessOrEqual(t, len(rep.Recipients), maxRecipients)
		for _, rc := range rep.Recipients {
			require.LessOrEqual(t, len(rc.Diagnostic), maxFieldLen)
			require.LessOrEqual(t, len(rc.Final), maxFieldLen)
		}
	})
}

// A mail of thousands of MIME parts costs the MIME library seconds: such
// mail is refused before it is parsed.
func TestParseReportRefusesMIMEBombs(t *testing.T) {
	t.Parallel()
	many := "Content-Type: multipart/report; boundary=x\r\n\r\n" + strings.Repeat("--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n", 5000) + "--x--\r\n"
	var nested strings.Builder
	nested.WriteString("Content-Type: multipart/report; boundary=b0\r\n\r\n")
	for i := 1; i < 1000; i++ {
		fmt.Fprintf(&nested, "--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n", i-1, i)
	}
	for name, raw := range map[string]string{"many parts": many, "nested": nested.String()} {
		_, err := ParseReport([]byte(raw))
		require.ErrorContains(t, err, "too many MIME parts", name)
	}
}

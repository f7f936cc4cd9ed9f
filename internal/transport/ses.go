package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/outbox/outbox/internal/outbox"
)

// ses is Amazon SES's v2 SendEmail with Content.Raw, through the AWS SDK
// (which signs with SigV4 from the access key id, the secret access key and
// the region). The raw MIME is the transport's own, so attachments, Reply-To
// and our Message-ID header travel as built, and Destination carries To, Cc
// and Bcc (the envelope BCC and archive copy) without a Bcc header. SES
// answers with the MessageId; it writes its own Message-ID header in place
// of ours, and has no idempotency token for SendEmail.
var ses = nativeAPI{
	name:         "Amazon SES",
	authHint:     hintSESAuth,
	notFoundHint: hintNativeBaseURL,
	refine:       sesRefine,
}

const hintSESAuth = "AWS refused the credentials: check the access key id and secret access key, and that the IAM user or role may call ses:SendRawEmail (or ses:SendEmail) in this region"

// sesBase is the SES endpoint of cfg's region.
func sesBase(cfg HTTPConfig) string {
	if cfg.Region == "" {
		return ""
	}
	return "https://email." + cfg.Region + ".amazonaws.com"
}

// sendSES sends m with SESv2 SendEmail through client (the address policy
// applies to its dial like to every other provider's); ctx carries tr.
func sendSES(ctx context.Context, cfg HTTPConfig, base *url.URL, client *http.Client, m mail, tr *httpTrace, att Attempt, start time.Time) (Attempt, error) {
	opts := sesv2.Options{
		Region:      cfg.Region,
		Credentials: aws.NewCredentialsCache(credentials{cfg.AccessKeyID, cfg.AuthValue}),
		HTTPClient:  client,
		// The delivery worker retries, with its own backoff and pauses.
		Retryer: aws.NopRetryer{},
	}
	if cfg.URL != "" {
		opts.BaseEndpoint = aws.String(strings.TrimSuffix(base.String(), "/"))
	}
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(m.from.email),
		Destination:      &types.Destination{ToAddresses: emails(m.to), CcAddresses: emails(m.cc), BccAddresses: emails(m.bcc)},
		Content:          &types.EmailContent{Raw: &types.RawMessage{Data: m.raw}},
	}
	tr.request = fmt.Sprintf("POST /v2/email/outbound-emails to Amazon SES (SendEmail, %d bytes of MIME)", len(m.raw))
	out, err := sesv2.New(opts).SendEmail(ctx, in)
	att.Duration = time.Since(start)
	if err == nil {
		if raw, ok := awsmiddleware.GetRawResponse(out.ResultMetadata).(*smithyhttp.Response); ok {
			att.Code = raw.StatusCode
			if raw.TLS != nil {
				att.TLSVersion = tls.VersionName(raw.TLS.Version)
			}
		}
		id := aws.ToString(out.MessageId)
		att.Reply = "MessageId " + id
		return finishNative(ses, tr, att, att.Code, fmt.Sprintf("%d %s", att.Code, http.StatusText(att.Code)), nil, nativeAnswer{id: id})
	}

	var (
		re   *smithyhttp.ResponseError
		sent *smithyhttp.RequestSendError
	)
	if errors.As(err, &sent) || !errors.As(err, &re) || re.Response == nil || re.Response.StatusCode == 0 {
		// No answer: a network error, or the SDK refused before sending.
		var cfgErr *configError
		if !errors.As(err, &cfgErr) && tr.began() {
			f := tr.fail(ctx, err)
			att.Reply = f.Message
			return att, f
		}
		f := Classify("", err)
		return att, f
	}
	a := nativeAnswer{message: err.Error()}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		a.code, a.message = apiErr.ErrorCode(), apiErr.ErrorMessage()
	}
	if re.Response.TLS != nil {
		att.TLSVersion = tls.VersionName(re.Response.TLS.Version)
	}
	att.Code, att.Reply = re.Response.StatusCode, cleanLine(strings.TrimPrefix(a.code+": "+a.message, ": "))
	return finishNative(ses, tr, att, re.Response.StatusCode, re.Response.Status, re.Response.Header, a)
}

// credentials is a static AWS credential: the tenant's access key.
type credentials struct{ id, secret string }

func (c credentials) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: c.id, SecretAccessKey: c.secret, Source: "outbox"}, nil
}

// sesRefine reads SES's error codes (SESv2 API reference, SendEmail
// errors): an unverified identity or a paused account is the tenant's to
// fix, throttling may come as 400 as well as 429.
func sesRefine(f *Failure, a nativeAnswer) {
	switch a.code {
	case "TooManyRequestsException", "Throttling", "ThrottlingException":
		if !f.Throttled {
			f.throttle(http.Header{}, time.Now())
		}
	case "MessageRejected":
		if strings.Contains(strings.ToLower(a.message), "not verified") {
			f.set(outbox.CategoryConfig, "verify the From address or its domain in SES in this region; while the account is in the sandbox, recipients must be verified too")
		}
	case "MailFromDomainNotVerifiedException":
		f.set(outbox.CategoryConfig, "the custom MAIL FROM domain of this identity is not verified in SES: fix its DNS records or turn it off")
	case "AccountSuspendedException", "SendingPausedException":
		f.set(outbox.CategoryConfig, "SES has paused sending for this account or configuration set: see the SES console")
	case "UnrecognizedClientException", "InvalidSignatureException", "SignatureDoesNotMatch", "AccessDeniedException", "InvalidClientTokenId":
		f.set(outbox.CategoryAuthFailed, hintSESAuth)
		f.Temporary, f.Throttled, f.RetryAfter = false, false, 0
	}
}

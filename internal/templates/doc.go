// Package templates holds the notification templates: a
// subject, a text body and an HTML body per tenant and event key, written as
// Go templates over the variables of a send plus {{.shopName}} and
// {{.contactEmail}}.
//
// The story, in files:
//
//   - template.go is [Template] and [Check], the validation on save: key,
//     sizes, syntax (a parse error names the line), and the restrictions
//     that keep rendering safe.
//   - render.go is [Render]. Subject and text are text/template, HTML is
//     html/template (auto-escaped). Templates come from tenants, so rendering
//     treats them as hostile: {{define}}, {{template}} and {{block}} are
//     refused (no recursion), every {{range}} is charged to an iteration
//     budget before it runs, the string functions (print, printf, html, …)
//     are size-checked so that a loop cannot double a string, output is
//     capped, and a deadline is checked as rendering goes. A render that
//     breaks a limit fails with EINVALID instead of running on.
//   - builtin.go holds the built-in templates of order.confirmed,
//     order.shipped, vendor.new_order, contact.received and password.reset,
//     their variables and the sample values a preview uses.
//   - service.go is [Service]: listing, saving and previewing a tenant's
//     templates, and resolving them for a send.
package templates

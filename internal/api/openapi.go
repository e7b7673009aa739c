package api

import (
	"encoding/json"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// The OpenAPI 3.1 description of Ibiki's HTTP interface is built here, from the route table
// (openapi_routes.go) and schemas derived from the handlers' own types (openapi_schema.go). It
// is served at GET /api/v1/openapi.json, rendered at GET /docs/api (docs_page.go), and kept in
// the repository as docs/openapi.json, which a test holds to what this code builds.

// OpenAPI is the document, as served and as kept in docs/openapi.json.
var OpenAPI = sync.OnceValue(func() []byte {
	b, err := json.MarshalIndent(buildDocument(), "", "  ")
	if err != nil {
		panic("api: the OpenAPI document does not encode: " + err.Error())
	}
	return append(b, '\n')
})

// registerReference adds the public routes of the document and of its rendered reference page.
func registerReference(mux Mux) {
	mux.HandleFunc("GET /api/v1/openapi.json", serveOpenAPI)
	mux.HandleFunc("GET /docs/api", serveDocsPage)
	mux.HandleFunc("GET /docs/api/{asset}", serveDocsAsset)
}

// serveOpenAPI: GET /api/v1/openapi.json, without authentication.
func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(OpenAPI())
}

type oaDocument struct {
	OpenAPI    string                `json:"openapi"`
	Info       oaInfo                `json:"info"`
	Tags       []oaTag               `json:"tags"`
	Paths      map[string]oaPathItem `json:"paths"`
	Components oaComponents          `json:"components"`
	// Fallbacks are the mux patterns that are not operations: catch-alls answering 404 in a
	// surface's shape (the route test accepts them).
	Fallbacks []string `json:"x-ibiki-fallback-routes"`
}

type oaInfo struct {
	Title       string            `json:"title"`
	Version     string            `json:"version"`
	Description string            `json:"description"`
	License     map[string]string `json:"license,omitempty"`
}

type oaTag struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// oaPathItem maps a lower-case method to its operation.
type oaPathItem map[string]*oaOperation

type oaOperation struct {
	Tags        []string              `json:"tags"`
	Summary     string                `json:"summary"`
	Description string                `json:"description,omitempty"`
	OperationID string                `json:"operationId"`
	Security    []map[string][]string `json:"security,omitempty"`
	Parameters  []oaParameter         `json:"parameters,omitempty"`
	RequestBody *oaRequestBody        `json:"requestBody,omitempty"`
	Responses   map[string]oaResponse `json:"responses"`
	// Route is the ServeMux pattern that serves the operation.
	Route string `json:"x-ibiki-route"`
}

type oaParameter struct {
	Name        string `json:"name"`
	In          string `json:"in"`
	Description string `json:"description,omitempty"`
	Required    bool   `json:"required,omitempty"`
	Schema      schema `json:"schema"`
}

type oaRequestBody struct {
	Description string             `json:"description,omitempty"`
	Required    bool               `json:"required,omitempty"`
	Content     map[string]oaMedia `json:"content"`
}

type oaMedia struct {
	Schema   schema                `json:"schema"`
	Encoding map[string]oaEncoding `json:"encoding,omitempty"`
}

type oaEncoding struct {
	ContentType   string `json:"contentType,omitempty"`
	AllowReserved bool   `json:"allowReserved,omitempty"`
}

type oaResponse struct {
	Ref         string              `json:"$ref,omitempty"`
	Description string              `json:"description,omitempty"`
	Headers     map[string]oaHeader `json:"headers,omitempty"`
	Content     map[string]oaMedia  `json:"content,omitempty"`
}

type oaHeader struct {
	Description string `json:"description"`
	Schema      schema `json:"schema"`
}

type oaComponents struct {
	Schemas         map[string]schema     `json:"schemas"`
	Responses       map[string]oaResponse `json:"responses"`
	SecuritySchemes map[string]schema     `json:"securitySchemes"`
}

// Security scheme names.
const (
	schemeBearer     = "apiKeyBearer"
	schemeHeader     = "apiKeyHeader"
	schemeAdmin      = "adminToken"
	schemeTwilio     = "twilioBasic"
	schemeWebhookKey = "webhookToken"
)

var securitySchemes = map[string]schema{
	schemeBearer: {"type": "http", "scheme": "bearer",
		"description": "A client's API key (`ibk_…`) as a bearer token: `Authorization: Bearer ibk_…`. When an Authorization header is present, X-API-Key is ignored."},
	schemeHeader: {"type": "apiKey", "in": "header", "name": "X-API-Key",
		"description": "A client's API key (`ibk_…`) in the X-API-Key header."},
	schemeAdmin: {"type": "http", "scheme": "bearer",
		"description": "The operator's admin token (IBIKI_ADMIN_TOKEN) as a bearer token. Client API keys do not open the admin API, and X-API-Key is not read there."},
	schemeTwilio: {"type": "http", "scheme": "basic",
		"description": "HTTP basic authentication with a client's Account SID (`AC…`) as the user name and its auth token as the password (POST /admin/v1/clients/{id}/twilio-credentials). The Account SID in the path must be the caller's."},
	schemeWebhookKey: {"type": "apiKey", "in": "header", "name": "X-Webhook-Token",
		"description": "A provider webhook's protection, when its providers-file entry sets one: `webhook_token` (this header, or `?token=`), `webhook_hmac_secret` (X-Signature: HMAC-SHA256 of the body), `webhook_allow_ips`, and the provider's own signature (Twilio's X-Twilio-Signature). See docs/providers.md."},
}

// buildDocument builds the document from the route table.
func buildDocument() oaDocument {
	s := newSchemaSet()
	doc := oaDocument{OpenAPI: "3.1.0",
		Info: oaInfo{Title: "Ibiki HTTP API", Version: "1", Description: docDescription},
		Tags: docTags, Paths: map[string]oaPathItem{}, Fallbacks: fallbackRoutes}
	errs := errorResponses{uses: map[string]int{}}
	for pass := range 2 { // the first counts the error answers, the second shares those used twice
		for _, op := range routeTable() {
			method, path := op.methodAndPath()
			item := doc.Paths[path]
			if item == nil {
				item = oaPathItem{}
				doc.Paths[path] = item
			}
			if pass == 0 && item[method] != nil {
				panic("api: two operations for " + method + " " + path)
			}
			item[method] = op.build(s, path, &errs)
		}
		errs.counted = true
	}
	s.of(reflectTypeOfError, answer) // the error shape is listed even where no answer refers to it
	doc.Components = oaComponents{Schemas: s.defs, Responses: errs.shared, SecuritySchemes: securitySchemes}
	return doc
}

// errorResponses shares the error answers that several operations give alike, under
// components/responses.
type errorResponses struct {
	counted bool
	uses    map[string]int
	shared  map[string]oaResponse
}

// add returns res, or a reference to it when it is shared.
func (e *errorResponses) add(name string, res oaResponse) oaResponse {
	if !e.counted {
		e.uses[name]++
		return res
	}
	if e.uses[name] < 2 {
		return res
	}
	if e.shared == nil {
		e.shared = map[string]oaResponse{}
	}
	e.shared[name] = res
	return oaResponse{Ref: "#/components/responses/" + name}
}

// methodAndPath are the document's method (lower case) and path of the operation.
func (op operation) methodAndPath() (string, string) {
	method, path, _ := strings.Cut(op.route, " ")
	if op.path != "" {
		path = op.path
	}
	return strings.ToLower(method), path
}

var pathParam = regexp.MustCompile(`\{([A-Za-z_]+)\}`)

func (op operation) build(s *schemaSet, path string, shared *errorResponses) *oaOperation {
	out := &oaOperation{Tags: []string{op.tag}, Summary: op.summary, Description: op.about, OperationID: op.id,
		Route: op.route, Responses: map[string]oaResponse{}}
	switch op.auth {
	case clientKey:
		out.Security = []map[string][]string{{schemeBearer: {}}, {schemeHeader: {}}}
	case adminToken:
		out.Security = []map[string][]string{{schemeAdmin: {}}}
	case twilioBasic:
		out.Security = []map[string][]string{{schemeTwilio: {}}}
	case providerWebhook:
		out.Security = []map[string][]string{{}, {schemeWebhookKey: {}}}
	}
	for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
		out.Parameters = append(out.Parameters, oaParameter{Name: m[1], In: "path", Required: true,
			Description: pathParamAbout[m[1]], Schema: schema{"type": "string"}})
	}
	params := op.params
	if op.paged {
		params = append(slices.Clone(pageParamList), params...)
	}
	if op.idem {
		params = append(params, idempotencyParam)
	}
	for _, p := range params {
		out.Parameters = append(out.Parameters, oaParameter{Name: p.name, In: p.in, Description: p.about,
			Required: p.required, Schema: p.sch})
	}
	if op.body != nil {
		rb := &oaRequestBody{Description: op.body.about, Required: op.body.required, Content: map[string]oaMedia{}}
		for _, c := range op.body.content {
			rb.Content[c.typ] = oaMedia{Schema: c.sch(s), Encoding: c.encoding}
		}
		out.RequestBody = rb
	}
	for _, rp := range op.replies {
		key := strconv.Itoa(rp.status)
		res, more := out.Responses[key] // a second reply of a status is another content type
		if more {
			res.Description += " " + rp.about
		} else {
			res = oaResponse{Description: rp.about, Headers: rp.headers}
		}
		if rp.typ != "" {
			if res.Content == nil {
				res.Content = map[string]oaMedia{}
			}
			res.Content[rp.typ] = oaMedia{Schema: rp.sch(s)}
		}
		if op.idem && rp.status < 300 {
			res.Headers = map[string]oaHeader{"Idempotent-Replayed": replayedHeader}
		}
		out.Responses[key] = res
	}
	for status, codes := range op.errorCodes() {
		key := strconv.Itoa(status)
		if _, set := out.Responses[key]; set {
			continue // an error answer of its own shape (a bulk send's report)
		}
		out.Responses[key] = shared.add(op.errorName(status, codes), op.errorResponse(s, status, codes))
	}
	return out
}

// errorName names an error answer by what it holds.
func (op operation) errorName(status int, codes []string) string {
	name := "Error" + strconv.Itoa(status)
	if op.auth == twilioBasic {
		name = "TwilioError" + strconv.Itoa(status)
	}
	for _, extra := range slices.Sorted(maps.Keys(op.errExtra)) {
		name += "With" + strings.ToUpper(extra[:1]) + extra[1:]
	}
	return name + "_" + strings.Join(codes, "_")
}

// errorResponse is the answer of an error status with its codes.
func (op operation) errorResponse(s *schemaSet, status int, codes []string) oaResponse {
	about := http.StatusText(status) + ": " + strings.Join(quoted(codes), ", ") + "."
	var sch schema
	if op.auth == twilioBasic {
		nums := make([]int, len(codes))
		for i, c := range codes {
			nums[i], _ = strconv.Atoi(c)
		}
		sch = schema{"allOf": []any{ref("TwilioError"), schema{"properties": schema{
			"code": schema{"enum": anySlice(nums)}, "status": schema{"const": status}}}}}
		s.of(reflectTypeOfTwilioError, answer)
		about = http.StatusText(status) + ": Twilio error " + strings.Join(codes, ", ") + "."
	} else {
		detail := schema{"allOf": []any{s.of(reflectTypeOfError, answer), schema{"properties": schema{"code": schema{"enum": anySlice(codes)}}}}}
		props := schema{"error": detail}
		for name, extra := range op.errExtra {
			props[name] = extra(s)
		}
		sch = schema{"type": "object", "required": []any{"error"}, "properties": props, "additionalProperties": false}
	}
	headers := map[string]oaHeader(nil)
	switch status {
	case http.StatusUnauthorized:
		if op.auth == twilioBasic {
			headers = map[string]oaHeader{"WWW-Authenticate": {Description: `Basic realm="Twilio API"`, Schema: schema{"type": "string"}}}
		}
	}
	return oaResponse{Description: about, Headers: headers, Content: map[string]oaMedia{"application/json": {Schema: sch}}}
}

func quoted(codes []string) []string {
	out := make([]string, len(codes))
	for i, c := range codes {
		out[i] = "`" + c + "`"
	}
	return out
}

// errorCodes are the operation's error statuses and codes: its own, and those every operation
// of its kind can answer.
func (op operation) errorCodes() map[int][]string {
	all := map[int][]string{}
	add := func(status int, codes ...string) {
		for _, c := range codes {
			if !slices.Contains(all[status], c) {
				all[status] = append(all[status], c)
			}
		}
	}
	if op.auth == twilioBasic {
		add(400, "20400") // a query parameter that is not text
		add(401, "20003")
		add(404, "20404")
		add(500, "20500")
		add(503, "20503")
		if op.body != nil {
			add(413, "20413")
		}
	} else {
		switch op.auth {
		case clientKey, adminToken:
			add(401, "unauthorized")
			add(400, "invalid_field") // a query parameter that is not text
		case providerWebhook:
			add(400, "invalid_payload", "invalid_field")
			add(401, "unauthorized")
			add(403, "forbidden")
		}
		if op.auth != public && strings.Contains(op.route, "{") {
			add(404, "not_found")
		}
		if op.paged {
			add(400, "invalid_field")
		}
		if op.idem {
			add(400, "invalid_field")
			add(409, "idempotency_key_reused")
		}
		if op.body != nil {
			if op.body.json {
				add(400, "invalid_json", "invalid_field", "missing_field")
			}
			add(413, "body_too_large")
		}
		if op.auth != public {
			add(500, "internal_error")
			add(503, "unavailable")
		}
	}
	for status, codes := range op.errs {
		add(status, codes...)
	}
	for _, codes := range all {
		slices.Sort(codes)
	}
	return all
}

/// The OpenAPI 3.1 description served at `GET /openapi.yaml`. `OpenAPITests` fails when a route
/// and this document disagree on a path or a method.
enum OpenAPIDocument {
    static let yaml = #"""
openapi: 3.1.0
info:
  title: Coalition API
  version: 0.1.0
  description: >
    Collaboration server of an industry coalition for low-carbon consumption. Errors are
    RFC 9457 problem documents (application/problem+json). Lists are cursor-paginated:
    ?limit=1..500 (default 50) and ?cursor= from the previous page's next_cursor.
servers:
  - url: /
security:
  - bearer: []
components:
  securitySchemes:
    bearer:
      type: http
      scheme: bearer
      description: "A session token from POST /v1/auth/login or an API token from POST /v1/tokens (clc_…)."
  parameters:
    id:
      name: id
      in: path
      required: true
      schema: {type: string, format: uuid}
    limit:
      name: limit
      in: query
      schema: {type: integer, minimum: 1, maximum: 500, default: 50}
    cursor:
      name: cursor
      in: query
      schema: {type: string}
  responses:
    Problem:
      description: An error, as an RFC 9457 problem document.
      content:
        application/problem+json:
          schema: {$ref: "#/components/schemas/Problem"}
  schemas:
    Problem:
      type: object
      required: [type, title, status]
      properties:
        type: {type: string}
        title: {type: string}
        status: {type: integer}
        detail: {type: string}
        request_id: {type: string}
        errors:
          type: array
          items:
            type: object
            required: [field, message]
            properties:
              field: {type: string}
              message: {type: string}
    Health:
      type: object
      required: [status]
      properties:
        status: {type: string}
        schema_version: {type: integer}
        version: {type: string}
    Organization:
      type: object
      required: [id, slug, name, kind, sector, status, joined_on, created_at, updated_at]
      properties:
        id: {type: string, format: uuid}
        slug: {type: string, pattern: "^[a-z0-9-]{2,63}$"}
        name: {type: string, minLength: 1, maxLength: 200}
        kind: {type: string, enum: [secretariat, member, partner]}
        sector: {type: string, maxLength: 100}
        status: {type: string, enum: [active, suspended, withdrawn]}
        joined_on: {type: string, format: date}
        created_at: {type: string, format: date-time}
        updated_at: {type: string, format: date-time}
    NewOrganization:
      type: object
      additionalProperties: false
      required: [slug, name, kind]
      properties:
        slug: {type: string, pattern: "^[a-z0-9-]{2,63}$"}
        name: {type: string, minLength: 1, maxLength: 200}
        kind: {type: string, enum: [secretariat, member, partner]}
        sector: {type: string, maxLength: 100}
        joined_on: {type: string, format: date}
    OrganizationChanges:
      type: object
      additionalProperties: false
      minProperties: 1
      properties:
        name: {type: string, minLength: 1, maxLength: 200}
        sector: {type: string, maxLength: 100}
        status: {type: string, enum: [active, suspended, withdrawn]}
    Role:
      type: string
      enum: [coalition_admin, auditor, member_admin, member_editor, member_viewer]
    User:
      type: object
      required: [id, organization_id, email, display_name, role, status, created_at, updated_at]
      properties:
        id: {type: string, format: uuid}
        organization_id: {type: string, format: uuid}
        email: {type: string, format: email}
        display_name: {type: string}
        role: {$ref: "#/components/schemas/Role"}
        status: {type: string, enum: [active, disabled]}
        created_at: {type: string, format: date-time}
        updated_at: {type: string, format: date-time}
    NewUser:
      type: object
      additionalProperties: false
      required: [email, display_name, role, password]
      properties:
        email: {type: string, format: email, maxLength: 254}
        display_name: {type: string, minLength: 1, maxLength: 100}
        role: {$ref: "#/components/schemas/Role"}
        password: {type: string, minLength: 12, description: "12 to 72 bytes (bcrypt's limit)."}
    UserChanges:
      type: object
      additionalProperties: false
      minProperties: 1
      properties:
        display_name: {type: string, minLength: 1, maxLength: 100}
        role: {$ref: "#/components/schemas/Role"}
        status: {type: string, enum: [active, disabled]}
        password: {type: string, minLength: 12}
    Token:
      type: object
      required: [id, name, kind, prefix, scopes, created_at]
      properties:
        id: {type: string, format: uuid}
        name: {type: string}
        kind: {type: string, enum: [api, session]}
        prefix: {type: string}
        scopes: {type: array, items: {type: string, enum: [read, write]}}
        expires_at: {type: [string, "null"], format: date-time}
        last_used_at: {type: [string, "null"], format: date-time}
        revoked_at: {type: [string, "null"], format: date-time}
        created_at: {type: string, format: date-time}
    CreatedToken:
      allOf:
        - $ref: "#/components/schemas/Token"
        - type: object
          required: [token]
          properties:
            token: {type: string, description: "The secret; shown only in this response."}
    AuditEntry:
      type: object
      required: [id, at, action, entity, data]
      properties:
        id: {type: integer}
        seq: {type: [integer, "null"]}
        at: {type: string, format: date-time}
        actor_user_id: {type: [string, "null"], format: uuid}
        actor_organization_id: {type: [string, "null"], format: uuid}
        action: {type: string}
        entity: {type: string}
        entity_id: {type: [string, "null"]}
        data: {type: object}
        prev_hash: {type: [string, "null"]}
        hash: {type: [string, "null"]}
    Project:
      type: object
      required: [id, code, title, description, category, status, lead_organization_id, participants, starts_on, ends_on, sdgs]
      properties:
        id: {type: string, format: uuid}
        code: {type: string, pattern: "^[a-z0-9-]{2,63}$"}
        title: {type: string}
        description: {type: string}
        category: {type: string, enum: [materials, logistics, packaging, awareness, energy, other]}
        status: {type: string, enum: [proposed, active, completed, cancelled]}
        lead_organization_id: {type: string, format: uuid}
        participants: {type: array, items: {type: string, format: uuid}}
        starts_on: {type: string, format: date}
        ends_on: {type: string, format: date}
        sdgs: {type: array, items: {type: integer, minimum: 1, maximum: 17}}
        created_at: {type: string, format: date-time}
        updated_at: {type: string, format: date-time}
    NewProject:
      type: object
      additionalProperties: false
      required: [code, title, category, lead_organization_id, starts_on, ends_on]
      properties:
        code: {type: string, pattern: "^[a-z0-9-]{2,63}$"}
        title: {type: string, minLength: 1, maxLength: 200}
        description: {type: string, maxLength: 10000}
        category: {type: string, enum: [materials, logistics, packaging, awareness, energy, other]}
        lead_organization_id: {type: string, format: uuid}
        starts_on: {type: string, format: date}
        ends_on: {type: string, format: date}
        sdgs: {type: array, items: {type: integer, minimum: 1, maximum: 17}}
    ProjectChanges:
      type: object
      additionalProperties: false
      minProperties: 1
      properties:
        title: {type: string, minLength: 1, maxLength: 200}
        description: {type: string, maxLength: 10000}
        category: {type: string, enum: [materials, logistics, packaging, awareness, energy, other]}
        status: {type: string, enum: [proposed, active, completed, cancelled]}
        starts_on: {type: string, format: date}
        ends_on: {type: string, format: date}
        sdgs: {type: array, items: {type: integer, minimum: 1, maximum: 17}}
    Decimal:
      description: "An exact decimal: a string such as \"12.5\" (numbers are accepted on input). At most 20 significant digits."
      oneOf:
        - {type: string, pattern: "^-?[0-9]+(\\.[0-9]+)?([eE][+-]?[0-9]+)?$"}
        - {type: number}
    Milestone:
      type: object
      required: [id, project_id, key, title, metric, unit, target_value, due_on, status]
      properties:
        id: {type: string, format: uuid}
        project_id: {type: string, format: uuid}
        key: {type: string}
        title: {type: string}
        metric: {type: string}
        unit: {type: string}
        target_value: {type: string}
        due_on: {type: string, format: date}
        status: {type: string, enum: [open, achieved, missed]}
    NewMilestone:
      type: object
      additionalProperties: false
      required: [key, title, metric, target_value, due_on]
      properties:
        key: {type: string, pattern: "^[a-z0-9-]{1,63}$"}
        title: {type: string, minLength: 1, maxLength: 200}
        metric: {type: string}
        target_value: {$ref: "#/components/schemas/Decimal"}
        due_on: {type: string, format: date}
    MilestoneChanges:
      type: object
      additionalProperties: false
      minProperties: 1
      properties:
        title: {type: string, minLength: 1, maxLength: 200}
        target_value: {$ref: "#/components/schemas/Decimal"}
        due_on: {type: string, format: date}
        status: {type: string, enum: [open, achieved, missed]}
    Metric:
      type: object
      required: [code, name, unit, aggregation, units]
      properties:
        code: {type: string}
        name: {type: string}
        unit: {type: string}
        aggregation: {type: string, enum: [sum, latest, mean]}
        units: {type: array, items: {type: string}}
    Submission:
      type: object
      required: [id, milestone_id, project_id, organization_id, period_start, period_end, value, unit, value_canonical, status, submitted_by]
      properties:
        id: {type: string, format: uuid}
        milestone_id: {type: string, format: uuid}
        project_id: {type: string, format: uuid}
        organization_id: {type: string, format: uuid}
        period_start: {type: string, format: date}
        period_end: {type: string, format: date}
        value: {type: string}
        unit: {type: string}
        value_canonical: {type: string}
        notes: {type: [string, "null"]}
        evidence_url: {type: [string, "null"]}
        external_ref: {type: [string, "null"]}
        status: {type: string, enum: [submitted, approved, rejected, withdrawn, verified]}
        submitted_by: {type: string, format: uuid}
        reviewed_by: {type: [string, "null"], format: uuid}
        review_comment: {type: [string, "null"]}
        verified_by: {type: [string, "null"], format: uuid}
        created_at: {type: string, format: date-time}
        updated_at: {type: string, format: date-time}
    NewSubmission:
      type: object
      additionalProperties: false
      required: [period_start, period_end, value, unit]
      properties:
        period_start: {type: string, format: date}
        period_end: {type: string, format: date}
        value: {$ref: "#/components/schemas/Decimal"}
        unit: {type: string}
        notes: {type: string, maxLength: 2000}
        evidence_url: {type: string, format: uri, maxLength: 2000}
        external_ref: {type: string, maxLength: 200}
    MetricTotal:
      type: object
      required: [metric, unit, aggregation, period, total, submissions]
      properties:
        metric: {type: string}
        unit: {type: string}
        aggregation: {type: string}
        period: {type: string, format: date}
        total: {type: string}
        submissions: {type: integer}
        organizations: {type: integer}
    Standard:
      type: object
      required: [id, code, title, category, status, issuers, current_version, published_version, versions, reviews, allowed_actions]
      properties:
        id: {type: string, format: uuid}
        code: {type: string, pattern: "^CLC-STD-[0-9]{4,}$"}
        title: {type: string}
        category: {type: string, enum: [product, packaging, logistics, materials, energy, other]}
        status: {type: string, enum: [draft, in_review, approved, published, withdrawn]}
        issuers: {type: array, items: {type: string, format: uuid}}
        current_version: {type: [integer, "null"]}
        published_version: {type: [integer, "null"]}
        versions:
          type: array
          items:
            type: object
            required: [number, status, change_note, created_at, created_by]
            properties:
              number: {type: integer}
              status: {type: string, enum: [draft, in_review, approved, published, superseded, withdrawn]}
              change_note: {type: string}
              created_at: {type: string, format: date-time}
              created_by: {type: string, format: uuid}
              review_comment: {type: [string, "null"]}
              body: {type: [string, "null"]}
        reviews:
          type: array
          items:
            type: object
            required: [reviewer_id, decision, at]
            properties:
              reviewer_id: {type: string, format: uuid}
              decision: {type: string, enum: [approve, reject]}
              comment: {type: [string, "null"]}
              at: {type: string, format: date-time}
        quorum: {type: integer}
        allowed_actions: {type: array, items: {type: string, enum: [new_version, submit, review, publish, withdraw]}}
        created_at: {type: string, format: date-time}
        updated_at: {type: string, format: date-time}
    Adoption:
      type: object
      required: [standard_id, version_number, organization_id, adopted_on]
      properties:
        standard_id: {type: string, format: uuid}
        version_number: {type: integer}
        organization_id: {type: string, format: uuid}
        adopted_on: {type: string, format: date}
        evidence_url: {type: [string, "null"]}
        created_at: {type: string, format: date-time}
paths:
  /health/live:
    get:
      summary: Liveness
      security: []
      responses:
        "200": {description: Live, content: {application/json: {schema: {$ref: "#/components/schemas/Health"}}}}
  /health/ready:
    get:
      summary: Readiness (database reachable, schema current)
      security: []
      responses:
        "200": {description: Ready, content: {application/json: {schema: {$ref: "#/components/schemas/Health"}}}}
        "503": {$ref: "#/components/responses/Problem"}
  /metrics:
    get:
      summary: Prometheus metrics
      security: []
      responses:
        "200": {description: Metrics in the Prometheus text format, content: {text/plain: {schema: {type: string}}}}
  /openapi.yaml:
    get:
      summary: This document
      security: []
      responses:
        "200": {description: The OpenAPI document, content: {application/yaml: {schema: {type: string}}}}
  /v1/auth/login:
    post:
      summary: Log in; returns a session token
      security: []
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              additionalProperties: false
              required: [email, password]
              properties:
                email: {type: string}
                password: {type: string}
      responses:
        "200":
          description: A session token
          content:
            application/json:
              schema:
                type: object
                required: [token, expires_at, user]
                properties:
                  token: {type: string}
                  expires_at: {type: string, format: date-time}
                  user: {$ref: "#/components/schemas/User"}
        "401": {$ref: "#/components/responses/Problem"}
        "422": {$ref: "#/components/responses/Problem"}
        "429": {$ref: "#/components/responses/Problem"}
  /v1/me:
    get:
      summary: The caller, its organization and role
      responses:
        "200":
          description: The caller
          content:
            application/json:
              schema:
                type: object
                required: [user, organization, role, scopes]
                properties:
                  user: {$ref: "#/components/schemas/User"}
                  organization: {$ref: "#/components/schemas/Organization"}
                  role: {$ref: "#/components/schemas/Role"}
                  scopes: {type: array, items: {type: string}}
        "401": {$ref: "#/components/responses/Problem"}
  /v1/tokens:
    get:
      summary: The caller's own tokens and sessions
      parameters: [{$ref: "#/components/parameters/limit"}, {$ref: "#/components/parameters/cursor"}]
      responses:
        "200":
          description: A page of tokens
          content:
            application/json:
              schema:
                type: object
                required: [items, next_cursor]
                properties:
                  items: {type: array, items: {$ref: "#/components/schemas/Token"}}
                  next_cursor: {type: [string, "null"]}
        "401": {$ref: "#/components/responses/Problem"}
    post:
      summary: Create an API token (the secret is shown once)
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              additionalProperties: false
              required: [name]
              properties:
                name: {type: string, minLength: 1, maxLength: 100}
                scopes: {type: array, items: {type: string, enum: [read, write]}, default: [read]}
                expires_in_days: {type: integer, minimum: 1, maximum: 365, default: 90}
      responses:
        "201": {description: Created, content: {application/json: {schema: {$ref: "#/components/schemas/CreatedToken"}}}}
        "401": {$ref: "#/components/responses/Problem"}
        "403": {$ref: "#/components/responses/Problem"}
        "422": {$ref: "#/components/responses/Problem"}
  /v1/tokens/{id}:
    delete:
      summary: Revoke one of the caller's tokens
      parameters: [{$ref: "#/components/parameters/id"}]
      responses:
        "200": {description: Revoked, content: {application/json: {schema: {$ref: "#/components/schemas/Token"}}}}
        "401": {$ref: "#/components/responses/Problem"}
        "403": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
  /v1/organizations:
    get:
      summary: Organizations (coalition admins and auditors see all; members their own)
      parameters: [{$ref: "#/components/parameters/limit"}, {$ref: "#/components/parameters/cursor"}]
      responses:
        "200":
          description: A page of organizations
          content:
            application/json:
              schema:
                type: object
                required: [items, next_cursor]
                properties:
                  items: {type: array, items: {$ref: "#/components/schemas/Organization"}}
                  next_cursor: {type: [string, "null"]}
        "401": {$ref: "#/components/responses/Problem"}
    post:
      summary: Create an organization (coalition admin)
      requestBody: {required: true, content: {application/json: {schema: {$ref: "#/components/schemas/NewOrganization"}}}}
      responses:
        "201": {description: Created, content: {application/json: {schema: {$ref: "#/components/schemas/Organization"}}}}
        "401": {$ref: "#/components/responses/Problem"}
        "403": {$ref: "#/components/responses/Problem"}
        "409": {$ref: "#/components/responses/Problem"}
        "422": {$ref: "#/components/responses/Problem"}
  /v1/organizations/{id}:
    get:
      summary: One organization
      parameters: [{$ref: "#/components/parameters/id"}]
      responses:
        "200": {description: The organization, content: {application/json: {schema: {$ref: "#/components/schemas/Organization"}}}}
        "401": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
    patch:
      summary: Change an organization (coalition admin)
      parameters: [{$ref: "#/components/parameters/id"}]
      requestBody: {required: true, content: {application/json: {schema: {$ref: "#/components/schemas/OrganizationChanges"}}}}
      responses:
        "200": {description: Changed, content: {application/json: {schema: {$ref: "#/components/schemas/Organization"}}}}
        "401": {$ref: "#/components/responses/Problem"}
        "403": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
        "422": {$ref: "#/components/responses/Problem"}
  /v1/organizations/{id}/users:
    get:
      summary: An organization's users (coalition admins, auditors; a member admin for its own)
      parameters: [{$ref: "#/components/parameters/id"}, {$ref: "#/components/parameters/limit"}, {$ref: "#/components/parameters/cursor"}]
      responses:
        "200":
          description: A page of users
          content:
            application/json:
              schema:
                type: object
                required: [items, next_cursor]
                properties:
                  items: {type: array, items: {$ref: "#/components/schemas/User"}}
                  next_cursor: {type: [string, "null"]}
        "401": {$ref: "#/components/responses/Problem"}
        "403": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
    post:
      summary: Create a user (coalition admin; a member admin in its own organization, member roles only)
      parameters: [{$ref: "#/components/parameters/id"}]
      requestBody: {required: true, content: {application/json: {schema: {$ref: "#/components/schemas/NewUser"}}}}
      responses:
        "201": {description: Created, content: {application/json: {schema: {$ref: "#/components/schemas/User"}}}}
        "401": {$ref: "#/components/responses/Problem"}
        "403": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
        "409": {$ref: "#/components/responses/Problem"}
        "422": {$ref: "#/components/responses/Problem"}
  /v1/organizations/{id}/tokens:
    get:
      summary: Tokens and sessions of an organization's users (coalition admin; member admin for its own)
      parameters: [{$ref: "#/components/parameters/id"}, {$ref: "#/components/parameters/limit"}, {$ref: "#/components/parameters/cursor"}]
      responses:
        "200":
          description: A page of tokens
          content:
            application/json:
              schema:
                type: object
                required: [items, next_cursor]
                properties:
                  items: {type: array, items: {$ref: "#/components/schemas/Token"}}
                  next_cursor: {type: [string, "null"]}
        "403": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
  /v1/organizations/{id}/tokens/{token_id}:
    delete:
      summary: Revoke a token of one of the organization's users (coalition admin; member admin for its own)
      parameters: [{$ref: "#/components/parameters/id"}, {name: token_id, in: path, required: true, schema: {type: string, format: uuid}}]
      responses:
        "200": {description: Revoked, content: {application/json: {schema: {$ref: "#/components/schemas/Token"}}}}
        "403": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
  /v1/users/{id}:
    patch:
      summary: Change a user within the caller's rights (fields it may not set are 422)
      parameters: [{$ref: "#/components/parameters/id"}]
      requestBody: {required: true, content: {application/json: {schema: {$ref: "#/components/schemas/UserChanges"}}}}
      responses:
        "200": {description: Changed, content: {application/json: {schema: {$ref: "#/components/schemas/User"}}}}
        "401": {$ref: "#/components/responses/Problem"}
        "403": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
        "422": {$ref: "#/components/responses/Problem"}
  /v1/audit:
    get:
      summary: The audit trail (coalition admins and auditors)
      parameters: [{$ref: "#/components/parameters/limit"}, {$ref: "#/components/parameters/cursor"}]
      responses:
        "200":
          description: A page of entries, oldest first
          content:
            application/json:
              schema:
                type: object
                required: [items, next_cursor]
                properties:
                  items: {type: array, items: {$ref: "#/components/schemas/AuditEntry"}}
                  next_cursor: {type: [string, "null"]}
        "401": {$ref: "#/components/responses/Problem"}
        "403": {$ref: "#/components/responses/Problem"}
  /v1/audit/verify:
    get:
      summary: Recompute the hash chain (coalition admins and auditors)
      responses:
        "200":
          description: The verdict
          content:
            application/json:
              schema:
                type: object
                required: [ok, entries, first_bad_seq, head_hash]
                properties:
                  ok: {type: boolean}
                  entries: {type: integer}
                  first_bad_seq: {type: [integer, "null"]}
                  head_hash: {type: [string, "null"]}
        "401": {$ref: "#/components/responses/Problem"}
        "403": {$ref: "#/components/responses/Problem"}
  /v1/metrics:
    get:
      summary: The metric catalogue
      responses:
        "200": {description: Metrics, content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Metric"}}}}}
        "401": {$ref: "#/components/responses/Problem"}
  /v1/projects:
    get:
      summary: Projects (members see the ones they take part in)
      parameters: [{$ref: "#/components/parameters/limit"}, {$ref: "#/components/parameters/cursor"}]
      responses:
        "200":
          description: A page of projects
          content:
            application/json:
              schema:
                type: object
                required: [items, next_cursor]
                properties:
                  items: {type: array, items: {$ref: "#/components/schemas/Project"}}
                  next_cursor: {type: [string, "null"]}
        "401": {$ref: "#/components/responses/Problem"}
    post:
      summary: Create a project (coalition admin); Idempotency-Key accepted
      requestBody: {required: true, content: {application/json: {schema: {$ref: "#/components/schemas/NewProject"}}}}
      responses:
        "201": {description: Created, content: {application/json: {schema: {$ref: "#/components/schemas/Project"}}}}
        "401": {$ref: "#/components/responses/Problem"}
        "403": {$ref: "#/components/responses/Problem"}
        "409": {$ref: "#/components/responses/Problem"}
        "422": {$ref: "#/components/responses/Problem"}
  /v1/projects/{id}:
    get:
      summary: One project
      parameters: [{$ref: "#/components/parameters/id"}]
      responses:
        "200": {description: The project, content: {application/json: {schema: {$ref: "#/components/schemas/Project"}}}}
        "404": {$ref: "#/components/responses/Problem"}
    patch:
      summary: Change a project (coalition admin)
      parameters: [{$ref: "#/components/parameters/id"}]
      requestBody: {required: true, content: {application/json: {schema: {$ref: "#/components/schemas/ProjectChanges"}}}}
      responses:
        "200": {description: Changed, content: {application/json: {schema: {$ref: "#/components/schemas/Project"}}}}
        "403": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
        "422": {$ref: "#/components/responses/Problem"}
  /v1/projects/{id}/participants/{organization_id}:
    put:
      summary: Add a participating organization (coalition admin)
      parameters: [{$ref: "#/components/parameters/id"}, {name: organization_id, in: path, required: true, schema: {type: string, format: uuid}}]
      responses:
        "200": {description: The project, content: {application/json: {schema: {$ref: "#/components/schemas/Project"}}}}
        "403": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
        "422": {$ref: "#/components/responses/Problem"}
    delete:
      summary: Remove a participating organization (coalition admin; not the lead)
      parameters: [{$ref: "#/components/parameters/id"}, {name: organization_id, in: path, required: true, schema: {type: string, format: uuid}}]
      responses:
        "200": {description: The project, content: {application/json: {schema: {$ref: "#/components/schemas/Project"}}}}
        "403": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
        "409": {$ref: "#/components/responses/Problem"}
  /v1/projects/{id}/milestones:
    get:
      summary: A project's milestones
      parameters: [{$ref: "#/components/parameters/id"}]
      responses:
        "200": {description: Milestones, content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Milestone"}}}}}
        "404": {$ref: "#/components/responses/Problem"}
    post:
      summary: Add a milestone (coalition admin, member admin of the lead organization)
      parameters: [{$ref: "#/components/parameters/id"}]
      requestBody: {required: true, content: {application/json: {schema: {$ref: "#/components/schemas/NewMilestone"}}}}
      responses:
        "201": {description: Created, content: {application/json: {schema: {$ref: "#/components/schemas/Milestone"}}}}
        "403": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
        "409": {$ref: "#/components/responses/Problem"}
        "422": {$ref: "#/components/responses/Problem"}
  /v1/milestones/{id}:
    patch:
      summary: Change a milestone
      parameters: [{$ref: "#/components/parameters/id"}]
      requestBody: {required: true, content: {application/json: {schema: {$ref: "#/components/schemas/MilestoneChanges"}}}}
      responses:
        "200": {description: Changed, content: {application/json: {schema: {$ref: "#/components/schemas/Milestone"}}}}
        "403": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
        "422": {$ref: "#/components/responses/Problem"}
  /v1/projects/{id}/progress:
    get:
      summary: Per milestone target, achieved (approved and verified, canonical unit), percent and forecast status
      parameters: [{$ref: "#/components/parameters/id"}]
      responses:
        "200":
          description: Progress
          content:
            application/json:
              schema:
                type: object
                required: [project_id, as_of, milestones]
                properties:
                  project_id: {type: string, format: uuid}
                  as_of: {type: string, format: date}
                  milestones:
                    type: array
                    items:
                      type: object
                      required: [milestone_id, key, metric, unit, target, achieved, percent, status]
                      properties:
                        milestone_id: {type: string, format: uuid}
                        key: {type: string}
                        title: {type: string}
                        metric: {type: string}
                        unit: {type: string}
                        target: {type: string}
                        achieved: {type: string}
                        percent: {type: string}
                        status: {type: string, enum: [achieved, on_track, behind, missed]}
                        due_on: {type: string, format: date}
                        submissions_counted: {type: integer}
        "404": {$ref: "#/components/responses/Problem"}
  /v1/milestones/{id}/submissions:
    post:
      summary: Submit progress (member admin or editor of a participating organization); Idempotency-Key accepted
      parameters: [{$ref: "#/components/parameters/id"}]
      requestBody: {required: true, content: {application/json: {schema: {$ref: "#/components/schemas/NewSubmission"}}}}
      responses:
        "201": {description: Stored, content: {application/json: {schema: {$ref: "#/components/schemas/Submission"}}}}
        "200": {description: "Unchanged: the same row was live already (header Coalition-Outcome: unchanged)", content: {application/json: {schema: {$ref: "#/components/schemas/Submission"}}}}
        "403": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
        "409": {$ref: "#/components/responses/Problem"}
        "422": {$ref: "#/components/responses/Problem"}
  /v1/submissions:
    get:
      summary: Submissions visible to the caller, oldest change first (a change feed with updated_after)
      parameters:
        - {$ref: "#/components/parameters/limit"}
        - {$ref: "#/components/parameters/cursor"}
        - {name: project, in: query, schema: {type: string, format: uuid}}
        - {name: milestone, in: query, schema: {type: string, format: uuid}}
        - {name: organization, in: query, schema: {type: string, format: uuid}}
        - {name: status, in: query, schema: {type: string, enum: [submitted, approved, rejected, withdrawn, verified]}}
        - {name: updated_after, in: query, schema: {type: string, format: date-time}}
      responses:
        "200":
          description: A page of submissions
          content:
            application/json:
              schema:
                type: object
                required: [items, next_cursor]
                properties:
                  items: {type: array, items: {$ref: "#/components/schemas/Submission"}}
                  next_cursor: {type: [string, "null"]}
        "422": {$ref: "#/components/responses/Problem"}
  /v1/submissions/{id}:
    get:
      summary: One submission
      parameters: [{$ref: "#/components/parameters/id"}]
      responses:
        "200": {description: The submission, content: {application/json: {schema: {$ref: "#/components/schemas/Submission"}}}}
        "404": {$ref: "#/components/responses/Problem"}
  /v1/submissions/{id}/review:
    post:
      summary: Approve or reject (coalition admin; a reject needs a comment)
      parameters: [{$ref: "#/components/parameters/id"}]
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              additionalProperties: false
              required: [decision]
              properties:
                decision: {type: string, enum: [approve, reject]}
                comment: {type: string, maxLength: 2000}
      responses:
        "200": {description: Reviewed, content: {application/json: {schema: {$ref: "#/components/schemas/Submission"}}}}
        "403": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
        "409": {$ref: "#/components/responses/Problem"}
        "422": {$ref: "#/components/responses/Problem"}
  /v1/submissions/{id}/withdraw:
    post:
      summary: Withdraw (the submitting organization, while submitted)
      parameters: [{$ref: "#/components/parameters/id"}]
      responses:
        "200": {description: Withdrawn, content: {application/json: {schema: {$ref: "#/components/schemas/Submission"}}}}
        "403": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
        "409": {$ref: "#/components/responses/Problem"}
  /v1/submissions/{id}/verify:
    post:
      summary: Verify an approved submission (auditor)
      parameters: [{$ref: "#/components/parameters/id"}]
      responses:
        "200": {description: Verified, content: {application/json: {schema: {$ref: "#/components/schemas/Submission"}}}}
        "403": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
        "409": {$ref: "#/components/responses/Problem"}
  /v1/reports/summary:
    get:
      summary: Coalition totals per metric and year or quarter, and counts (public; Accept text/csv for CSV)
      security: []
      parameters:
        - {name: from, in: query, schema: {type: string, format: date}}
        - {name: to, in: query, schema: {type: string, format: date}}
        - {name: by, in: query, schema: {type: string, enum: [year, quarter], default: year}}
      responses:
        "200":
          description: The summary
          content:
            application/json:
              schema:
                type: object
                required: [by, members, partners, projects, active_projects, standards, adoptions, totals]
                properties:
                  from: {type: [string, "null"], format: date}
                  to: {type: [string, "null"], format: date}
                  by: {type: string}
                  members: {type: integer}
                  partners: {type: integer}
                  projects: {type: integer}
                  active_projects: {type: integer}
                  standards: {type: integer}
                  adoptions: {type: integer}
                  totals: {type: array, items: {$ref: "#/components/schemas/MetricTotal"}}
            text/csv: {schema: {type: string}}
        "422": {$ref: "#/components/responses/Problem"}
  /v1/reports/organizations/{id}:
    get:
      summary: One organization's contributions per metric and year (Accept text/csv for CSV)
      parameters:
        - {$ref: "#/components/parameters/id"}
        - {name: from, in: query, schema: {type: string, format: date}}
        - {name: to, in: query, schema: {type: string, format: date}}
      responses:
        "200":
          description: The report
          content:
            application/json:
              schema:
                type: object
                required: [organization_id, totals]
                properties:
                  organization_id: {type: string, format: uuid}
                  totals: {type: array, items: {$ref: "#/components/schemas/MetricTotal"}}
            text/csv: {schema: {type: string}}
        "404": {$ref: "#/components/responses/Problem"}
  /v1/standards:
    get:
      summary: Standards (drafts only for coalition admins, auditors and issuers; published ones for everyone)
      security: [{}, {bearer: []}]
      parameters:
        - {$ref: "#/components/parameters/limit"}
        - {$ref: "#/components/parameters/cursor"}
        - {name: status, in: query, schema: {type: string, enum: [draft, in_review, approved, published, withdrawn]}}
        - {name: category, in: query, schema: {type: string, enum: [product, packaging, logistics, materials, energy, other]}}
        - {name: issuer, in: query, schema: {type: string, format: uuid}}
      responses:
        "200":
          description: A page of standards (without versions and reviews)
          content:
            application/json:
              schema:
                type: object
                required: [items, next_cursor]
                properties:
                  items: {type: array, items: {$ref: "#/components/schemas/Standard"}}
                  next_cursor: {type: [string, "null"]}
        "422": {$ref: "#/components/responses/Problem"}
    post:
      summary: Create a standard in draft with version 1 (a member's organization becomes an issuer)
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              additionalProperties: false
              required: [title, category, body]
              properties:
                title: {type: string, minLength: 1, maxLength: 200}
                category: {type: string, enum: [product, packaging, logistics, materials, energy, other]}
                issuers: {type: array, items: {type: string, format: uuid}}
                body: {type: string, minLength: 1, maxLength: 200000, description: Markdown}
                change_note: {type: string, maxLength: 2000}
      responses:
        "201": {description: Created, content: {application/json: {schema: {$ref: "#/components/schemas/Standard"}}}}
        "401": {$ref: "#/components/responses/Problem"}
        "403": {$ref: "#/components/responses/Problem"}
        "422": {$ref: "#/components/responses/Problem"}
  /v1/standards/{id}:
    get:
      summary: One standard with issuers, versions and the reviews of the version in review
      security: [{}, {bearer: []}]
      parameters: [{$ref: "#/components/parameters/id"}]
      responses:
        "200": {description: The standard, content: {application/json: {schema: {$ref: "#/components/schemas/Standard"}}}}
        "404": {$ref: "#/components/responses/Problem"}
  /v1/standards/{id}/versions:
    post:
      summary: Revise the open draft, or start the next version of a published standard (editors)
      parameters: [{$ref: "#/components/parameters/id"}]
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              additionalProperties: false
              required: [body]
              properties:
                body: {type: string, minLength: 1, maxLength: 200000}
                change_note: {type: string, maxLength: 2000}
      responses:
        "201": {description: Drafted, content: {application/json: {schema: {$ref: "#/components/schemas/Standard"}}}}
        "403": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
        "409": {$ref: "#/components/responses/Problem"}
        "422": {$ref: "#/components/responses/Problem"}
  /v1/standards/{id}/submit:
    post:
      summary: Draft to in review (editors)
      parameters: [{$ref: "#/components/parameters/id"}]
      responses:
        "200": {description: Submitted, content: {application/json: {schema: {$ref: "#/components/schemas/Standard"}}}}
        "403": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
        "409": {$ref: "#/components/responses/Problem"}
  /v1/standards/{id}/reviews:
    post:
      summary: Ballot on the version in review (coalition admin; a reject needs a comment; a second ballot replaces the first)
      parameters: [{$ref: "#/components/parameters/id"}]
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              additionalProperties: false
              required: [decision]
              properties:
                decision: {type: string, enum: [approve, reject]}
                comment: {type: string, maxLength: 2000}
      responses:
        "201": {description: Recorded, content: {application/json: {schema: {$ref: "#/components/schemas/Standard"}}}}
        "403": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
        "409": {$ref: "#/components/responses/Problem"}
        "422": {$ref: "#/components/responses/Problem"}
  /v1/standards/{id}/publish:
    post:
      summary: Approved to published; the earlier published version becomes superseded (coalition admin)
      parameters: [{$ref: "#/components/parameters/id"}]
      responses:
        "200": {description: Published, content: {application/json: {schema: {$ref: "#/components/schemas/Standard"}}}}
        "403": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
        "409": {$ref: "#/components/responses/Problem"}
  /v1/standards/{id}/withdraw:
    post:
      summary: Published to withdrawn (coalition admin)
      parameters: [{$ref: "#/components/parameters/id"}]
      responses:
        "200": {description: Withdrawn, content: {application/json: {schema: {$ref: "#/components/schemas/Standard"}}}}
        "403": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
        "409": {$ref: "#/components/responses/Problem"}
  /v1/standards/{id}/adoptions:
    get:
      summary: Adoptions of a standard
      parameters: [{$ref: "#/components/parameters/id"}]
      responses:
        "200": {description: Adoptions, content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Adoption"}}}}}
        "401": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
    post:
      summary: Declare that the caller's organization applies a published version (member admin or editor)
      parameters: [{$ref: "#/components/parameters/id"}]
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              additionalProperties: false
              required: [version_number, adopted_on]
              properties:
                version_number: {type: integer, minimum: 1}
                adopted_on: {type: string, format: date}
                evidence_url: {type: string, format: uri, maxLength: 2000}
      responses:
        "201": {description: Declared, content: {application/json: {schema: {$ref: "#/components/schemas/Adoption"}}}}
        "403": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
        "409": {$ref: "#/components/responses/Problem"}
        "422": {$ref: "#/components/responses/Problem"}
  /v1/organizations/{id}/adoptions:
    get:
      summary: Adoptions declared by one organization
      parameters: [{$ref: "#/components/parameters/id"}]
      responses:
        "200": {description: Adoptions, content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Adoption"}}}}}
        "401": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
  /v1/submissions/bulk:
    post:
      summary: Upload many submissions of the caller's organization (CSV with header, or NDJSON), at most 50,000 rows or 64 MiB
      parameters:
        - {name: dry_run, in: query, schema: {type: boolean, default: false}}
        - {name: atomic, in: query, schema: {type: boolean, default: false}}
      requestBody:
        required: true
        content:
          text/csv: {schema: {type: string, description: "columns project, milestone, organization, period_start, period_end, value, unit, notes, evidence_url, external_ref"}}
          application/x-ndjson: {schema: {type: string}}
      responses:
        "200":
          description: The report (stored false for a dry run or a refused atomic upload)
          content:
            application/json:
              schema:
                type: object
                required: [accepted, unchanged, rejected, errors, stored]
                properties:
                  accepted: {type: integer}
                  unchanged: {type: integer}
                  rejected: {type: integer}
                  stored: {type: boolean}
                  errors:
                    type: array
                    items:
                      type: object
                      required: [line, field, message]
                      properties:
                        line: {type: integer}
                        field: {type: string}
                        message: {type: string}
        "400": {$ref: "#/components/responses/Problem"}
        "403": {$ref: "#/components/responses/Problem"}
        "413": {$ref: "#/components/responses/Problem"}
        "415": {$ref: "#/components/responses/Problem"}
        "422": {$ref: "#/components/responses/Problem"}
"""#
}

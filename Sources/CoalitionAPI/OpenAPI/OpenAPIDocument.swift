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
"""#
}

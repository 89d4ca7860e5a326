// The OpenAPI 3.1 description of the REST API, served at /api/v1/openapi.json.

#include "api/api_service.h"
#include "api/json_util.h"

namespace sluice::api {

namespace {

constexpr const char* kOpenApi = R"json({
  "openapi": "3.1.0",
  "info": {"title": "Sluice REST API", "version": "0.1.0",
           "description": "Pipelines, jobs, checkpoints, metrics and live output of sluice serve (docs/api.md)."},
  "servers": [{"url": "/api/v1"}],
  "components": {
    "schemas": {
      "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
      "PipelinePost": {"type": "object", "additionalProperties": false, "required": ["query"],
        "properties": {"name": {"type": "string"}, "query": {"type": "string", "minLength": 1},
          "udfs": {"type": ["array", "null"], "maxItems": 0},
          "preview": {"type": ["boolean", "null"]},
          "parallelism": {"type": ["integer", "null"], "minimum": 1, "maximum": 1024},
          "checkpointIntervalMicros": {"type": ["integer", "null"], "minimum": 1000}}},
      "PipelinePatch": {"type": "object", "additionalProperties": false,
        "properties": {"stop": {"type": ["string", "null"], "enum": ["none", "checkpoint", "graceful", "immediate", null]},
          "parallelism": {"type": ["integer", "null"], "minimum": 1, "maximum": 1024},
          "checkpointIntervalMicros": {"type": ["integer", "null"], "minimum": 1000},
          "query": {"type": ["string", "null"]}, "name": {"type": ["string", "null"], "minLength": 1},
          "allowNonRestoredState": {"type": ["boolean", "null"], "description": "Starting (stop none) an edited pipeline: drop the state of operators the edited query no longer has instead of refusing with 409"}}},
      "PipelineRestart": {"type": "object", "additionalProperties": false,
        "properties": {"force": {"type": ["boolean", "null"]}, "checkpoint": {"type": ["integer", "null"]},
          "ignoreState": {"type": ["boolean", "null"]},
          "allowNonRestoredState": {"type": ["boolean", "null"], "description": "An edited query: drop the state of operators it no longer has (changed or removed) instead of refusing with 409; the unchanged operators keep theirs"}}},
      "ValidateQueryPost": {"type": "object", "additionalProperties": false, "required": ["query"],
        "properties": {"query": {"type": "string"}, "udfs": {"type": ["array", "null"]},
          "parallelism": {"type": ["integer", "null"], "minimum": 1, "maximum": 1024}}},
      "PipelineGraph": {"type": "object", "required": ["nodes", "edges"],
        "properties": {"nodes": {"type": "array", "items": {"type": "object", "required": ["nodeId", "operator", "description", "parallelism"],
            "properties": {"nodeId": {"type": "string"}, "operator": {"type": "string"}, "description": {"type": "string"}, "parallelism": {"type": "integer"}}}},
          "edges": {"type": "array", "items": {"type": "object", "required": ["srcId", "destId", "keyType", "valueType", "edgeType"],
            "properties": {"srcId": {"type": "string"}, "destId": {"type": "string"}, "keyType": {"type": "string"}, "valueType": {"type": "string"}, "edgeType": {"type": "string"}}}}}},
      "Pipeline": {"type": "object",
        "required": ["id", "name", "query", "udfs", "checkpointIntervalMicros", "parallelism", "stop", "createdAt", "preview", "state", "action", "actionText", "actionInProgress", "graph"],
        "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "query": {"type": "string"},
          "udfs": {"type": "array"}, "checkpointIntervalMicros": {"type": "integer"}, "parallelism": {"type": "integer"},
          "stop": {"type": "string", "enum": ["none", "checkpoint", "graceful", "immediate"]},
          "createdAt": {"type": "integer"}, "preview": {"type": "boolean"}, "state": {"type": "string"},
          "jobId": {"type": ["string", "null"]}, "failureReason": {"type": ["string", "null"]},
          "action": {"type": ["string", "null"]}, "actionText": {"type": "string"}, "actionInProgress": {"type": "boolean"},
          "graph": {"$ref": "#/components/schemas/PipelineGraph"}}},
      "Job": {"type": "object", "required": ["id", "runningDesired", "state", "runId", "createdAt"],
        "properties": {"id": {"type": "string"}, "runningDesired": {"type": "boolean"}, "state": {"type": "string"},
          "runId": {"type": "integer"}, "startTime": {"type": ["integer", "null"]}, "finishTime": {"type": ["integer", "null"]},
          "tasks": {"type": ["integer", "null"]}, "failureMessage": {"type": ["string", "null"]}, "createdAt": {"type": "integer"},
          "stateGeneration": {"type": "integer"}}}
    },
    "responses": {
      "Error": {"description": "What went wrong", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Pipeline": {"description": "The pipeline", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pipeline"}}}}
    },
    "parameters": {
      "id": {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
      "job": {"name": "job", "in": "path", "required": true, "schema": {"type": "string"}}
    }
  },
  "paths": {
    "/ping": {"get": {"summary": "Liveness", "responses": {"200": {"description": "ok"}}}},
    "/connectors": {"get": {"summary": "Connectors and their options", "responses": {"200": {"description": "connectors"}}}},
    "/pipelines/validate_query": {"post": {"summary": "Plan a query: its graph, or diagnostics",
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ValidateQueryPost"}}}},
      "responses": {"200": {"description": "graph or errors"}, "400": {"$ref": "#/components/responses/Error"}}}},
    "/pipelines/preview": {"post": {"summary": "Start a preview pipeline; read its rows from .../jobs/{job}/output",
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PipelinePost"}}}},
      "responses": {"200": {"$ref": "#/components/responses/Pipeline"}, "400": {"$ref": "#/components/responses/Error"}, "409": {"$ref": "#/components/responses/Error"}}}},
    "/pipelines": {
      "get": {"summary": "Pipelines, newest first",
        "parameters": [{"name": "starting_after", "in": "query", "schema": {"type": "string"}},
                       {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}}],
        "responses": {"200": {"description": "a page of pipelines"}, "400": {"$ref": "#/components/responses/Error"}}},
      "post": {"summary": "Create and start a pipeline",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PipelinePost"}}}},
        "responses": {"200": {"$ref": "#/components/responses/Pipeline"}, "400": {"$ref": "#/components/responses/Error"}, "409": {"$ref": "#/components/responses/Error"}}}},
    "/pipelines/{id}": {
      "parameters": [{"$ref": "#/components/parameters/id"}],
      "get": {"summary": "A pipeline", "responses": {"200": {"$ref": "#/components/responses/Pipeline"}, "404": {"$ref": "#/components/responses/Error"}}},
      "patch": {"summary": "Stop, start or edit a pipeline",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PipelinePatch"}}}},
        "responses": {"200": {"$ref": "#/components/responses/Pipeline"}, "400": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}, "409": {"$ref": "#/components/responses/Error"}}},
      "delete": {"summary": "Delete a stopped pipeline", "responses": {"200": {"description": "deleted"}, "404": {"$ref": "#/components/responses/Error"}, "409": {"$ref": "#/components/responses/Error"}}}},
    "/pipelines/{id}/restart": {
      "parameters": [{"$ref": "#/components/parameters/id"}],
      "post": {"summary": "Restart: from the latest checkpoint, a chosen one, or without state; an edited query keeps the state of its unchanged operators",
        "requestBody": {"required": false, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PipelineRestart"}}}},
        "responses": {"200": {"$ref": "#/components/responses/Pipeline"}, "400": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}, "409": {"$ref": "#/components/responses/Error"}}}},
    "/pipelines/{id}/jobs": {
      "parameters": [{"$ref": "#/components/parameters/id"}],
      "get": {"summary": "The pipeline's jobs", "responses": {"200": {"description": "jobs"}, "404": {"$ref": "#/components/responses/Error"}}}},
    "/pipelines/{id}/jobs/{job}/errors": {
      "parameters": [{"$ref": "#/components/parameters/id"}, {"$ref": "#/components/parameters/job"},
                     {"name": "level", "in": "query", "schema": {"type": "string", "enum": ["info", "warn", "error", "all"]}}],
      "get": {"summary": "The job's error (or log) messages, newest first", "responses": {"200": {"description": "messages"}, "400": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}}}},
    "/pipelines/{id}/jobs/{job}/checkpoints": {
      "parameters": [{"$ref": "#/components/parameters/id"}, {"$ref": "#/components/parameters/job"}],
      "get": {"summary": "The job's retained checkpoints", "responses": {"200": {"description": "checkpoints"}, "404": {"$ref": "#/components/responses/Error"}, "409": {"$ref": "#/components/responses/Error"}}}},
    "/pipelines/{id}/jobs/{job}/operator_metric_groups": {
      "parameters": [{"$ref": "#/components/parameters/id"}, {"$ref": "#/components/parameters/job"}],
      "get": {"summary": "Counters and rates per operator and subtask", "responses": {"200": {"description": "metrics"}, "404": {"$ref": "#/components/responses/Error"}}}},
    "/pipelines/{id}/jobs/{job}/output": {
      "parameters": [{"$ref": "#/components/parameters/id"}, {"$ref": "#/components/parameters/job"}],
      "get": {"summary": "Live rows as Server-Sent Events (Last-Event-ID resumes)",
        "responses": {"200": {"description": "an event stream", "content": {"text/event-stream": {"schema": {"type": "string"}}}}, "400": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}}}},
    "/pipelines/{id}/jobs/{job}/tap": {
      "parameters": [{"$ref": "#/components/parameters/id"}, {"$ref": "#/components/parameters/job"},
                     {"name": "edge", "in": "query", "required": true, "description": "the edge's edgeId in the pipeline's graph", "schema": {"type": "integer", "minimum": 0}}],
      "get": {"summary": "Sampled live rows crossing one edge of the running job, as Server-Sent Events",
        "responses": {"200": {"description": "an event stream", "content": {"text/event-stream": {"schema": {"type": "string"}}}}, "400": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}, "409": {"$ref": "#/components/responses/Error"}}}},
    "/metrics": {"get": {"summary": "Prometheus metrics (also at /metrics)", "responses": {"200": {"description": "text format", "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
    "/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1"}}}}
  }
})json";

}  // namespace

HttpResponse ApiService::OpenApi() {
  HttpResponse r;
  r.body = kOpenApi;
  return r;
}

}  // namespace sluice::api

// Checks real answers against an OpenAPI 3.1 description of this repository (the phone API's
// service/phone/openapi.yaml, the admin API's service/ops/admin_openapi.yaml): the path, the
// method, the status, the content type and, for JSON, the body against its schema (Ajv,
// JSON Schema 2020-12, $refs into the description's components).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import * as yaml from 'js-yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

// describedBy('service/phone/openapi.yaml') -> { spec, conforms(method, pathname, status,
// contentType, body), checks() }: conforms asserts, checks counts the answers checked.
export function describedBy(relative) {
  const spec = yaml.load(readFileSync(path.join(root, relative), 'utf8'));
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ $id: 'openapi', components: spec.components ?? {} });
  const validators = new Map();
  let checked = 0;

  const rewriteRefs = (node) => {
    if (Array.isArray(node)) {
      return node.map(rewriteRefs);
    }
    if (node && typeof node === 'object') {
      const out = {};
      for (const [k, v] of Object.entries(node)) {
        out[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `openapi${v}` : rewriteRefs(v);
      }
      return out;
    }
    return node;
  };
  const resolve = (node) => {
    while (node && node.$ref) {
      node = node.$ref.slice(2).split('/').reduce((o, k) => o[k], spec);
    }
    return node;
  };
  // The first template that matches, in the order the description lists them (a literal path
  // such as /calls/history is listed before /calls/{sid}).
  const templates = Object.keys(spec.paths);
  const templateFor = (pathname) => templates.find(
    (t) => new RegExp('^' + t.replace(/\{[^}]+\}/g, '[^/]+') + '$').test(pathname)) ?? null;

  function conforms(method, pathname, status, contentType, body) {
    const template = templateFor(pathname);
    assert.ok(template, `${pathname} is not described in ${relative}`);
    const operation = spec.paths[template][method.toLowerCase()];
    assert.ok(operation, `${method} ${template} is not described in ${relative}`);
    const response = resolve(operation.responses[String(status)] ?? operation.responses.default);
    assert.ok(response, `${method} ${template}: status ${status} is not described in ${relative}`);
    checked++;
    if (!response.content) {
      assert.equal(body, '', `${method} ${template} ${status}: no body is described`);
      return;
    }
    const media = (contentType ?? '').split(';')[0].trim();
    const described = response.content[media];
    assert.ok(described, `${method} ${template} ${status}: content type ${media} is not described`);
    if (media === 'application/json') {
      const key = `${method} ${template} ${status}`;
      if (!validators.has(key)) {
        validators.set(key, ajv.compile(rewriteRefs(described.schema ?? {})));
      }
      const validate = validators.get(key);
      assert.ok(validate(JSON.parse(body)), `${key}: ${JSON.stringify(validate.errors)} in ${body}`);
    }
  }
  return { spec, conforms, checks: () => checked };
}

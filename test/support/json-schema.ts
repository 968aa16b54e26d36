// A small JSON Schema 2020-12 checker for the keywords moxie's OpenAPI document uses, to hold real responses
// and the document's own examples against it. A keyword it does not know is an error, never a silent pass.

type Schema = Record<string, unknown>;

/** Annotations: they describe, they do not constrain. */
const ANNOTATIONS = new Set(["description", "examples", "default", "title"]);
const KNOWN = new Set([
  ...ANNOTATIONS,
  "$ref",
  "type",
  "enum",
  "const",
  "properties",
  "patternProperties",
  "required",
  "items",
  "anyOf",
  "minimum",
  "maximum",
  "minLength",
  "maxLength",
  "pattern",
  "format",
  "minProperties",
]);

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

export interface CheckOptions {
  /** Resolves "#/components/..." references. */
  root: object;
  /** Objects may not carry properties the schema does not name (for responses: nothing undocumented leaks). */
  closed?: boolean;
}

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function resolve(ref: string, root: object): Schema {
  if (!ref.startsWith("#/")) throw new Error(`cannot resolve ${ref}`);
  let node: unknown = root;
  for (const part of ref.slice(2).split("/")) node = (node as Record<string, unknown>)?.[part];
  if (!node || typeof node !== "object") throw new Error(`dangling $ref ${ref}`);
  return node as Schema;
}

/** Every way `value` fails `schema`, as "path: reason" lines; empty when it conforms. */
export function checkSchema(value: unknown, schema: Schema, options: CheckOptions, path = "$"): string[] {
  for (const key of Object.keys(schema)) {
    if (!KNOWN.has(key)) throw new Error(`${path}: the checker does not know the keyword "${key}"`);
  }
  if (typeof schema.$ref === "string") return checkSchema(value, resolve(schema.$ref, options.root), options, path);
  const errors: string[] = [];
  const actual = typeOf(value);
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
    const ok = types.some((type) => type === actual || (type === "number" && actual === "integer"));
    if (!ok) return [`${path}: is ${actual}, not ${types.join(" or ")}`];
  }
  if (schema.enum && !(schema.enum as unknown[]).includes(value)) errors.push(`${path}: ${JSON.stringify(value)} is not in the enum`);
  if (schema.const !== undefined && schema.const !== value) errors.push(`${path}: is not ${JSON.stringify(schema.const)}`);
  if (schema.anyOf) {
    const branches = schema.anyOf as Schema[];
    if (!branches.some((branch) => checkSchema(value, branch, options, path).length === 0)) errors.push(`${path}: matches no anyOf branch`);
  }
  if (typeof value === "number") {
    if (typeof schema.minimum === "number" && value < schema.minimum) errors.push(`${path}: below ${schema.minimum}`);
    if (typeof schema.maximum === "number" && value > schema.maximum) errors.push(`${path}: above ${schema.maximum}`);
  }
  if (typeof value === "string") {
    const length = [...value].length;
    if (typeof schema.minLength === "number" && length < schema.minLength) errors.push(`${path}: shorter than ${schema.minLength}`);
    if (typeof schema.maxLength === "number" && length > schema.maxLength) errors.push(`${path}: longer than ${schema.maxLength}`);
    if (typeof schema.pattern === "string" && !new RegExp(schema.pattern, "u").test(value)) errors.push(`${path}: does not match ${schema.pattern}`);
    if (schema.format === "date-time" && !ISO_UTC.test(value)) errors.push(`${path}: ${value} is not an ISO 8601 UTC time with Z`);
  }
  if (actual === "object") {
    const object = value as Record<string, unknown>;
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    for (const name of (schema.required as string[] | undefined) ?? []) {
      if (!(name in object)) errors.push(`${path}: misses required ${name}`);
    }
    if (typeof schema.minProperties === "number" && Object.keys(object).length < schema.minProperties) {
      errors.push(`${path}: fewer than ${schema.minProperties} properties`);
    }
    const patterns = Object.entries((schema.patternProperties ?? {}) as Record<string, Schema>);
    for (const [name, child] of Object.entries(object)) {
      const matching = patterns.filter(([pattern]) => new RegExp(pattern, "u").test(name));
      if (properties[name]) errors.push(...checkSchema(child, properties[name], options, `${path}.${name}`));
      for (const [, pattern] of matching) errors.push(...checkSchema(child, pattern, options, `${path}.${name}`));
      if (!properties[name] && matching.length === 0 && options.closed && (schema.properties || schema.patternProperties)) {
        errors.push(`${path}: has undocumented property ${name}`);
      }
    }
  }
  if (actual === "array" && schema.items) {
    (value as unknown[]).forEach((item, index) => errors.push(...checkSchema(item, schema.items as Schema, options, `${path}[${index}]`)));
  }
  return errors;
}

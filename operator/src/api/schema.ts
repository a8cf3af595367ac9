/**
 * The subset of the Kubernetes OpenAPI v3 schema (apiextensions.k8s.io/v1
 * JSONSchemaProps) the CRDs use. Kept small on purpose: every keyword here is
 * also understood by test/operator/structural.ts, which validates the samples.
 */

export interface CelValidation {
  rule: string;
  message: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
  fieldPath?: string;
}

export interface JSONSchemaProps {
  type: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  format?: 'int32' | 'int64' | 'date-time';
  properties?: Record<string, JSONSchemaProps>;
  required?: string[];
  items?: JSONSchemaProps;
  enum?: (string | number)[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  minimum?: number;
  maximum?: number;
  default?: string | number | boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-validations'?: CelValidation[];
}

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  priority?: number;
}

export interface CrdNames {
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  categories: string[];
}

/** One served version of one kind: what generate.ts turns into a CustomResourceDefinition. */
export interface CrdSource {
  group: string;
  version: string;
  scope: 'Namespaced' | 'Cluster';
  names: CrdNames;
  description: string;
  schema: JSONSchemaProps;
  printerColumns: PrinterColumn[];
}

// Validates an OpenAPI description with @apidevtools/swagger-parser (pinned in
// package-lock.json): the OpenAPI 3 schema, every $ref resolved. Exit 1 with the reason.
import SwaggerParser from "@apidevtools/swagger-parser";

const file = process.argv[2];
try {
  const api = await SwaggerParser.validate(file);
  console.log(`${file}: valid OpenAPI ${api.openapi}, ${Object.keys(api.paths).length} paths`);
} catch (err) {
  console.error(`${file}: ${err.message}`);
  process.exit(1);
}

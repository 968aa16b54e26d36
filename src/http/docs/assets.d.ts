// Files served by /docs, embedded in the binary with `with { type: "file" }`: each import is the file's path
// (in the compiled binary, inside its embedded file system), read with Bun.file.
declare module "swagger-ui-dist/swagger-ui-bundle.js" {
  const path: string;
  export default path;
}
declare module "swagger-ui-dist/swagger-ui.css" {
  const path: string;
  export default path;
}
declare module "*/docs/init.js" {
  const path: string;
  export default path;
}
declare module "*/docs/docs.css" {
  const path: string;
  export default path;
}

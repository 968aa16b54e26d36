// Lets TypeScript accept the console's `import css from "./app.css" with { type: "text" }`, which Bun bundles
// as a string. (*.html is declared by bun-types, as an HTMLBundle; routes.ts reads it as text.)
declare module "*.css" {
  const text: string;
  export default text;
}

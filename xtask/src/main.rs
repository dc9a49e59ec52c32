//! Project commands. `docs` writes the Terraform Registry pages (`docs/index.md`, `docs/resources/`,
//! `docs/data-sources/`) from the provider's schemas and the files under `examples/`; `docs --check` fails,
//! naming the stale files, when the committed pages differ from what it would write. `docs/guides/` is
//! hand-written and left alone.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use terraform_provider_partnercenter::protocol::schema::{
    Attribute, AttributeType, Block, NestedBlock, Nesting,
};
use terraform_provider_partnercenter::protocol::value::{self, Type};
use terraform_provider_partnercenter::protocol::{ProviderServer, Schema};
use terraform_provider_partnercenter::provider::PartnerCenter;

const PROVIDER: &str = "partnercenter";
const USAGE: &str = "usage: cargo run -p xtask -- docs [--check]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["docs"] => run(false),
        ["docs", "--check"] => run(true),
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

fn run(check: bool) -> ExitCode {
    let root = root();
    let pages = match pages(&root) {
        Ok(pages) => pages,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if check {
        let stale: Vec<&str> = pages
            .iter()
            .filter(|(path, content)| {
                std::fs::read_to_string(root.join(path)).ok().as_deref() != Some(content)
            })
            .map(|(path, _)| path.as_str())
            .collect();
        if stale.is_empty() {
            return ExitCode::SUCCESS;
        }
        eprintln!("docs are stale; run `make docs` and commit the result:");
        for path in stale {
            eprintln!("  {path}");
        }
        return ExitCode::FAILURE;
    }
    for (path, content) in &pages {
        let full = root.join(path);
        if let Some(dir) = full.parent() {
            if let Err(e) = std::fs::create_dir_all(dir) {
                eprintln!("error: creating {}: {e}", dir.display());
                return ExitCode::FAILURE;
            }
        }
        if let Err(e) = std::fs::write(&full, content) {
            eprintln!("error: writing {path}: {e}");
            return ExitCode::FAILURE;
        }
    }
    println!("wrote {} pages under docs/", pages.len());
    ExitCode::SUCCESS
}

/// Every generated page: path relative to the repository root -> content.
fn pages(root: &Path) -> Result<BTreeMap<String, String>, String> {
    let server = ProviderServer::new(PartnerCenter::new());
    let schemas = server.schemas();
    let mut out = BTreeMap::new();
    out.insert("docs/index.md".to_owned(), index_page(root, schemas.provider)?);
    for (type_name, schema) in &schemas.resources {
        let page = type_page(root, Kind::Resource, type_name, schema)?;
        out.insert(format!("docs/resources/{}.md", short(type_name)), page);
    }
    for (type_name, schema) in &schemas.data_sources {
        let page = type_page(root, Kind::DataSource, type_name, schema)?;
        out.insert(format!("docs/data-sources/{}.md", short(type_name)), page);
    }
    Ok(out)
}

fn short(type_name: &str) -> &str {
    type_name.strip_prefix("partnercenter_").unwrap_or(type_name)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Resource,
    DataSource,
}

fn read_example(root: &Path, rel: &str) -> Result<String, String> {
    std::fs::read_to_string(root.join(rel))
        .map(|s| s.trim_end().to_owned())
        .map_err(|e| format!("reading {rel} (every resource and data source needs its example): {e}"))
}

fn front_matter(title: &str, description: &str) -> String {
    let mut out = String::from("---\n");
    let _ = writeln!(out, "page_title: \"{title}\"");
    out.push_str("subcategory: \"\"\ndescription: |-\n");
    for line in first_sentence(description).lines() {
        let _ = writeln!(out, "  {line}");
    }
    out.push_str("---\n\n");
    out
}

/// The first sentence of a markdown description, for the page's front matter.
fn first_sentence(text: &str) -> String {
    let text = text.trim();
    match text.find(". ") {
        Some(i) => text[..=i].to_owned(),
        None => text.to_owned(),
    }
}

fn index_page(root: &Path, schema: &Schema) -> Result<String, String> {
    let example = read_example(root, "examples/provider/provider.tf")?;
    let mut out = front_matter("Provider: Microsoft Partner Center", &schema.block.description);
    out.push_str("# Microsoft Partner Center Provider\n\n");
    if !schema.block.description.trim().is_empty() {
        out.push_str(schema.block.description.trim());
        out.push_str("\n\n");
    }
    out.push_str(
        "Guides: [Authentication](guides/authentication.md) (client secret, refresh token via \
         `terraform-provider-partnercenter login`, OIDC in CI) and one page per tool mapping its registration \
         form to this provider's outputs: [Azure Cost Management (Cloudyn)](guides/cloudyn.md), \
         [Flexera Optima](guides/optima.md), [Octo](guides/octo.md). Keys over their life: \
         [Key expiry and rotation](guides/key-expiry-and-rotation.md) (rotation, the expiry watch, adopting \
         existing keys) and [The secret out of state](guides/secret-out-of-state.md) (Key Vault). Installing: \
         [Installation](guides/installation.md).\n\n",
    );
    out.push_str(
        "Some Partner Center calls (MPN ID, organization profile, indirect resellers and their customers) \
         accept App+User credentials only: configure a `refresh_token` for the data sources that need one. A \
         provider block without credentials is valid; only an operation that needs a credential fails, and \
         says which.\n\n",
    );
    let _ = write!(out, "## Example Usage\n\n```terraform\n{example}\n```\n\n");
    out.push_str(&schema_section(&schema.block, Kind::DataSource));
    Ok(out)
}

fn type_page(root: &Path, kind: Kind, type_name: &str, schema: &Schema) -> Result<String, String> {
    let (label, dir, file) = match kind {
        Kind::Resource => ("Resource", "resources", "resource.tf"),
        Kind::DataSource => ("Data Source", "data-sources", "data-source.tf"),
    };
    let example = read_example(root, &format!("examples/{dir}/{type_name}/{file}"))?;
    let mut out = front_matter(
        &format!("{type_name} {label} - terraform-provider-{PROVIDER}"),
        &schema.block.description,
    );
    let _ = write!(
        out,
        "# {type_name} ({label})\n\n{}\n\n",
        schema.block.description.trim()
    );
    let _ = write!(out, "## Example Usage\n\n```terraform\n{example}\n```\n\n");
    if kind == Kind::Resource && type_name == "partnercenter_web_app_key" {
        out.push_str(
            "## Rotation\n\nDeclare the key with `lifecycle { create_before_destroy = true }`: when a plan \
             replaces the key (it was deleted, expired, is inside `rotate_before` of its end date, or \
             `rotate_when_changed` changed), the new key is created and handed to the tools before the old \
             one is removed.\n\n",
        );
    }
    out.push_str(&schema_section(&schema.block, kind));
    if kind == Kind::Resource {
        let import = read_example(root, &format!("examples/resources/{type_name}/import.sh"))?;
        let _ = write!(
            out,
            "\n## Import\n\nImport is supported using the following syntax:\n\n```shell\n{import}\n```\n"
        );
        if type_name == "partnercenter_web_app_key" {
            out.push_str(
                "\nThe secret is only returned when a key is created: after import, `value` is null. Keep the \
                 secret you already handed to the tools, or let Terraform replace the key to get a new one.\n",
            );
        }
    }
    Ok(out)
}

/// One attribute or nested block in the schema listing.
struct Entry {
    name: String,
    line: String,
}

/// A block's entries by the heading they are listed under.
#[derive(Default)]
struct Listing {
    required: Vec<Entry>,
    optional: Vec<Entry>,
    read_only: Vec<Entry>,
}

impl Listing {
    /// Writes the non-empty headings, entries sorted by name: `### Required` at the top level, `Required:`
    /// inside nested schemas.
    fn write(self, out: &mut String, top_level: bool) {
        for (title, mut entries) in [
            ("Required", self.required),
            ("Optional", self.optional),
            ("Read-Only", self.read_only),
        ] {
            if entries.is_empty() {
                continue;
            }
            entries.sort_by(|a, b| a.name.cmp(&b.name));
            if top_level {
                let _ = write!(out, "### {title}\n\n");
            } else {
                let _ = write!(out, "{title}:\n\n");
            }
            for e in entries {
                let _ = writeln!(out, "- {}", e.line);
            }
            out.push('\n');
        }
    }
}

/// A nested schema still to be written below the block that links to it.
struct NestedSchema {
    anchor: String,
    /// The dotted path of the attribute or block, e.g. `timeouts` or `items.tags`.
    title: String,
    body: NestedBody,
}

enum NestedBody {
    Block(Block),
    Attributes(Vec<Attribute>),
    Object(BTreeMap<String, Type>),
}

fn schema_section(block: &Block, kind: Kind) -> String {
    let mut out = String::from("<!-- schema generated by `make docs` -->\n## Schema\n\n");
    let mut nested = Vec::new();
    render_block(&mut out, block, "", kind, &mut nested);
    while !nested.is_empty() {
        for schema in std::mem::take(&mut nested) {
            let (anchor, title) = (&schema.anchor, &schema.title);
            let _ = write!(
                out,
                "<a id=\"{anchor}\"></a>\n### Nested Schema for `{title}`\n\n"
            );
            match schema.body {
                NestedBody::Block(b) => render_block(&mut out, &b, title, kind, &mut nested),
                NestedBody::Attributes(attrs) => {
                    let b = Block {
                        attributes: attrs,
                        ..Default::default()
                    };
                    render_block(&mut out, &b, title, kind, &mut nested);
                }
                NestedBody::Object(fields) => {
                    out.push_str("Read-Only:\n\n");
                    for (name, ty) in fields {
                        let _ = writeln!(out, "- `{name}` ({})", type_name(&ty));
                    }
                }
            }
        }
    }
    out
}

fn anchor(prefix: &str, path: &str) -> String {
    format!("{prefix}--{}", path.replace('.', "--"))
}

/// `name` inside the block at `path` (empty at the top level).
fn qualified(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

/// Lists `block`'s attributes and nested blocks; their nested schemas are queued in `nested`.
fn render_block(out: &mut String, block: &Block, path: &str, kind: Kind, nested: &mut Vec<NestedSchema>) {
    let mut listing = Listing::default();
    for a in &block.attributes {
        let entry = attribute_entry(a, &qualified(path, &a.name), kind, nested);
        if a.required {
            listing.required.push(entry);
        } else if a.optional {
            listing.optional.push(entry);
        } else {
            listing.read_only.push(entry);
        }
    }
    for b in &block.blocks {
        let title = qualified(path, &b.name);
        let anchor = anchor("nestedblock", &title);
        let entry = Entry {
            name: b.name.clone(),
            line: block_line(b, &anchor),
        };
        nested.push(NestedSchema {
            anchor,
            title,
            body: NestedBody::Block(b.block.clone()),
        });
        if b.min_items > 0 {
            listing.required.push(entry);
        } else {
            listing.optional.push(entry);
        }
    }
    listing.write(out, path.is_empty());
}

/// An attribute's entry; an object type or nested attributes get a nested schema, queued in `nested`.
fn attribute_entry(a: &Attribute, title: &str, kind: Kind, nested: &mut Vec<NestedSchema>) -> Entry {
    let (ty, body, prefix) = match &a.kind {
        AttributeType::Plain(t) => (
            type_name(t),
            object_fields(t).map(NestedBody::Object),
            "nestedobjatt",
        ),
        AttributeType::Nested { nesting, attributes } => (
            format!("Attributes {}", nesting_name(*nesting)),
            Some(NestedBody::Attributes(attributes.clone())),
            "nestedatt",
        ),
    };
    let link = body.map(|body| {
        let anchor = anchor(prefix, title);
        nested.push(NestedSchema {
            anchor: anchor.clone(),
            title: title.to_owned(),
            body,
        });
        anchor
    });
    Entry {
        name: a.name.clone(),
        line: attribute_line(a, &ty, link.as_deref(), kind),
    }
}

/// The attributes of an object type, or of the objects a collection type holds.
fn object_fields(t: &Type) -> Option<BTreeMap<String, Type>> {
    match t {
        Type::Object(f) => Some(f.clone()),
        Type::List(e) | Type::Set(e) | Type::Map(e) => match e.as_ref() {
            Type::Object(f) => Some(f.clone()),
            _ => None,
        },
        _ => None,
    }
}

fn attribute_line(a: &Attribute, ty: &str, link: Option<&str>, kind: Kind) -> String {
    let mut flags = vec![ty.to_owned()];
    // Optional and computed: the provider fills it in when the configuration leaves it out.
    if a.optional && a.computed {
        flags.push("Computed".to_owned());
    }
    if a.sensitive {
        flags.push("Sensitive".to_owned());
    }
    if a.write_only {
        flags.push("Write-only".to_owned());
    }
    if a.deprecated {
        flags.push("Deprecated".to_owned());
    }
    let mut line = format!("`{}` ({})", a.name, flags.join(", "));
    let description = a.description.trim();
    if !description.is_empty() {
        line.push(' ');
        line.push_str(description);
    }
    if let Some(default) = &a.default {
        let rendered = format!("`{}`", value::to_json(default, &a.value_type()));
        if !description.contains(&rendered) {
            let _ = write!(line, " Default: {rendered}.");
        }
    }
    if a.requires_replace && kind == Kind::Resource {
        line.push_str(" Changing it forces a new resource.");
    }
    if !a.validators.is_empty() {
        let rules: Vec<&str> = a.validators.iter().map(|v| v.description.as_str()).collect();
        let _ = write!(line, " Validation: {}.", rules.join("; "));
    }
    if let Some(link) = link {
        let _ = write!(line, " (see [below for nested schema](#{link}))");
    }
    line
}

fn block_line(b: &NestedBlock, link: &str) -> String {
    let ty = match b.nesting {
        Nesting::Single => "Block".to_owned(),
        other => format!("Block {}", nesting_name(other)),
    };
    let mut flags = vec![ty];
    if b.max_items > 0 && b.nesting != Nesting::Single {
        flags.push(format!("Max: {}", b.max_items));
    }
    let mut line = format!("`{}` ({})", b.name, flags.join(", "));
    let description = b.block.description.trim();
    if !description.is_empty() {
        line.push(' ');
        line.push_str(description);
    }
    let _ = write!(line, " (see [below for nested schema](#{link}))");
    line
}

/// "Single", "List", "Set" or "Map".
fn nesting_name(n: Nesting) -> String {
    let name = n.name();
    name[..1].to_uppercase() + &name[1..]
}

fn type_name(t: &Type) -> String {
    match t {
        Type::Bool => "Boolean".to_owned(),
        Type::Number => "Number".to_owned(),
        Type::String => "String".to_owned(),
        Type::Dynamic => "Dynamic".to_owned(),
        Type::List(e) => format!("List of {}", type_name(e)),
        Type::Set(e) => format!("Set of {}", type_name(e)),
        Type::Map(e) => format!("Map of {}", type_name(e)),
        Type::Object(_) => "Object".to_owned(),
        Type::Tuple(_) => "Tuple".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_resource_and_data_source_gets_a_page_naming_each_attribute() {
        let pages = pages(&root()).expect("pages");
        let server = ProviderServer::new(PartnerCenter::new());
        let schemas = server.schemas();
        for (type_name, schema) in schemas.resources.iter().chain(schemas.data_sources.iter()) {
            let dir = if schemas.resources.iter().any(|(t, _)| t == type_name) {
                "resources"
            } else {
                "data-sources"
            };
            let page = &pages[&format!("docs/{dir}/{}.md", short(type_name))];
            for a in &schema.block.attributes {
                assert!(
                    page.contains(&format!("- `{}` (", a.name)),
                    "{type_name}: {}",
                    a.name
                );
            }
        }
        let key = &pages["docs/resources/web_app_key.md"];
        assert!(key.contains("`value` (String, Sensitive)"), "{key}");
        assert!(key.contains("## Import"));
        assert!(key.contains("create_before_destroy"));
    }

    #[test]
    fn first_sentence_stops_at_the_first_full_stop() {
        assert_eq!(first_sentence("A key. More text."), "A key.");
        assert_eq!(first_sentence("No stop"), "No stop");
    }
}

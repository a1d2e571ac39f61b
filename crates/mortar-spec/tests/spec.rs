//! Integration tests: the three-version snapshot, fixtures, nasty cases, scale.

use mortar_spec::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(rel)
}

fn load(rel: &str) -> Result<Api, SpecError> {
    load_file(fixture(rel))
}

/// The model with what must differ between versions blanked, documented here:
/// `version`, `declared_version` and `source` name the document; each
/// operation's `location.file` and `location.line` are where it is written
/// (pointers are kept: they are the same path in all three documents).
fn normalized(api: &Api) -> Value {
    let mut v = serde_json::to_value(api).unwrap();
    for k in ["version", "declared_version", "source"] {
        v[k] = json!("<normalized>");
    }
    for op in v["operations"].as_array_mut().unwrap() {
        op["location"]["file"] = json!("<normalized>");
        op["location"]["line"] = json!(0);
    }
    v
}

#[test]
fn one_api_in_three_versions_gives_one_model() {
    let v2 = load("tri/bookshelf.swagger2.yaml").unwrap();
    let v30 = load("tri/bookshelf.openapi30.yaml").unwrap();
    let v31 = load("tri/bookshelf.openapi31.json").unwrap();
    assert_eq!(v2.version, SpecVersion::Swagger2);
    assert_eq!(v30.version, SpecVersion::OpenApi30);
    assert_eq!(v31.version, SpecVersion::OpenApi31);
    let (a, b, c) = (normalized(&v2), normalized(&v30), normalized(&v31));
    let pretty = serde_json::to_string_pretty(&b).unwrap() + "\n";
    let snap = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/bookshelf.model.json");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&snap, &pretty).unwrap();
    }
    assert_eq!(a, b, "Swagger 2.0 and OpenAPI 3.0 models differ");
    assert_eq!(b, c, "OpenAPI 3.0 and 3.1 models differ");
    let committed = std::fs::read_to_string(&snap).expect("snapshot missing: run with UPDATE_SNAPSHOTS=1");
    assert_eq!(pretty, committed, "model changed: review, then UPDATE_SNAPSHOTS=1");
    // Lines are real: each operation's line holds its method key.
    for api in [&v2, &v30, &v31] {
        let text = std::fs::read_to_string(&api.source).unwrap();
        for op in &api.operations {
            let line = text.lines().nth(op.location.line.unwrap() as usize - 1).unwrap();
            assert!(line.contains(&op.method.to_ascii_lowercase()), "{}: line {line:?}", op.location.pointer);
        }
    }
}

fn ids(api: &Api) -> Vec<String> {
    api.operations.iter().map(|o| format!("{} {}", o.method, o.path)).collect()
}

#[test]
fn petstore_in_each_version() {
    for (file, scheme) in [
        ("petstore/petstore.swagger2.json", "token"),
        ("petstore/petstore.openapi30.yaml", "bearer"),
        ("petstore/petstore.openapi31.yaml", "oidc"),
    ] {
        let api = load(file).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(api.operations.len(), 6, "{file}");
        assert!(api.skipped.is_empty() && api.warnings.is_empty(), "{file}: {:?} {:?}", api.skipped, api.warnings);
        assert_eq!(api.base_path, "/api", "{file}");
        let create = api.operation("createPet").unwrap();
        assert_eq!(create.security[0].keys().next().unwrap(), scheme);
        assert!(create.request_body.as_ref().unwrap().content.contains_key("application/json"));
        let get = api.operation("getPet").unwrap();
        assert_eq!(get.parameters[0].name, "petId");
        assert!(get.security.is_empty(), "no global security in {file}");
        // Every operation yields a request; allOf merges both branches' required fields.
        let body: Value = serde_json::from_slice(
            build_request(&api, api.operation("createPet").unwrap(), &RequestOptions::default()).body.as_ref().unwrap(),
        )
        .unwrap();
        assert!(body["name"].is_string(), "{file}: {body}");
        let pet = &api.operation("getPet").unwrap().responses["200"].content["application/json"];
        let v =
            synthesize(pet.schema.as_ref().unwrap(), &api.schemas, &KnownValues::default(), &SynthOptions::default())
                .value;
        assert!(v["id"].is_i64() && v["name"].is_string(), "{file}: {v}");
    }
    let v2 = load("petstore/petstore.swagger2.json").unwrap();
    // 2.0 `produces` gives one content entry per media type.
    let list = v2.operation("listPets").unwrap();
    assert_eq!(list.responses["200"].content.keys().collect::<Vec<_>>(), ["application/json", "application/xml"]);
    assert_eq!(v2.server_url.as_deref(), Some("https://pets.example/api"));
    let v30 = load("petstore/petstore.openapi30.yaml").unwrap();
    let link = &v30.operation("createPet").unwrap().responses["201"].links["GetCreated"];
    assert_eq!(link.operation_id.as_deref(), Some("getPet"));
    assert_eq!(link.parameters["petId"], json!("$response.body#/id"));
    assert_eq!(v30.api_version, "2", "an unquoted YAML number as info.version");
}

#[test]
fn cycles_are_kept_as_references() {
    let api = load("nasty/cycles.yaml").unwrap();
    assert_eq!(ids(&api), ["GET /a", "POST /tree"]);
    let a = api.operations[0].responses["200"].content["application/json"].schema.clone().unwrap();
    // A -> B -> A: the inner A is a marker naming an entry of `schemas`.
    assert_eq!(a["properties"]["b"]["properties"]["a"], json!({"$ref": "A"}));
    assert_eq!(api.schemas.keys().collect::<Vec<_>>(), ["A", "Tree"]);
    assert_eq!(api.schemas["Tree"]["properties"]["left"], json!({"$ref": "Tree"}));
    // Synthesis terminates and satisfies `required` down the chain.
    let s = synthesize(&a, &api.schemas, &KnownValues::default(), &SynthOptions::default());
    assert!(s.value["b"].is_object(), "{}", s.value);
    let req = build_request(&api, &api.operations[1], &RequestOptions::default());
    let tree: Value = serde_json::from_slice(req.body.as_ref().unwrap()).unwrap();
    assert!(tree["value"].is_i64());
    fn depth(v: &Value) -> usize {
        v.get("left").map_or(0, |l| 1 + depth(l))
    }
    let d = depth(&tree);
    assert!((1..=10).contains(&d), "recursion is depth-limited, got {d}");
}

#[test]
fn external_refs_across_files_and_directories() {
    let api = load("nasty/external/root.yaml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ids(&api), ["GET /health", "GET /items", "POST /items"]);
    let list = api.operation("listItems").unwrap();
    assert!(list.location.file.ends_with("nasty/external/paths/items.yaml"), "{}", list.location.file);
    assert_eq!(list.location.pointer, "/get");
    assert_eq!(list.location.line, Some(2));
    // paging.yaml -> ../schemas.yaml#/Page, relative to paging.yaml's own directory.
    assert_eq!(list.parameters[0].schema, json!({"type": "integer", "minimum": 1, "maximum": 500}));
    let item = &list.responses["200"].content["application/json"].schema.as_ref().unwrap()["items"];
    assert_eq!(item["properties"]["status"]["enum"], json!(["ok", "degraded"]));
    // A source confined to another directory refuses the files: the operations are skipped, named.
    let bytes = std::fs::read(fixture("nasty/external/root.yaml")).unwrap();
    let base = fixture("nasty/external/root.yaml").display().to_string();
    let confined = load_bytes(&bytes, &base, &FsRefSource::within(fixture("petstore"))).unwrap();
    assert!(confined.operations.is_empty());
    assert_eq!(confined.skipped.len(), 2);
    assert!(
        confined.skipped.iter().any(|p| p.pointer == "/paths/~1items" && p.reason.contains("outside")),
        "{:?}",
        confined.skipped
    );
    let none = load_bytes(&bytes, &base, &NoRefSource).unwrap();
    assert!(none.skipped.iter().all(|p| p.reason.contains("external references are disabled")));
}

#[test]
fn relative_servers_and_target_base() {
    let api = load("nasty/relative-server.yaml").unwrap();
    assert_eq!((api.base_path.as_str(), api.server_url.as_deref()), ("/api/v2", None));
    let bytes = std::fs::read(fixture("nasty/relative-server.yaml")).unwrap();
    let remote = load_bytes(&bytes, "https://specs.example/docs/openapi.yaml", &NoRefSource).unwrap();
    // A relative server resolves against the scan target's origin, not the
    // description's own URL.
    assert_eq!(remote.server_url, None);
    assert_eq!(remote.base_path, "/api/v2");
    // The target's scheme/host/port win; its path wins only when it has one.
    let t = target_for(&api, "http://127.0.0.1:8080").unwrap();
    assert_eq!((t.url.as_str(), t.base_path.as_str(), t.port), ("http://127.0.0.1:8080/api/v2", "/api/v2", 8080));
    let t = target_for(&api, "https://staging.example/").unwrap();
    assert_eq!(t.base_path, "/api/v2");
    let t = target_for(&api, "https://staging.example/other").unwrap();
    assert_eq!(t.base_path, "/other");
    assert!(target_for(&api, "ftp://x").is_err());
    let op = &api.operations[0];
    assert_eq!(op.endpoint(&api.base_path), mortar_model::Endpoint::new("GET", "/api/v2/ping"));
    assert_eq!(build_request(&api, op, &RequestOptions::default()).path, "/api/v2/ping");
}

#[test]
fn every_servers_shape_resolves_against_the_target_origin() {
    let spec = |servers: &str| {
        let doc = format!(
            "{{\"openapi\": \"3.0.3\", \"info\": {{\"title\": \"t\", \"version\": \"1\"}}{servers}, \
             \"paths\": {{\"/users/v1\": {{\"get\": {{\"responses\": {{\"200\": {{\"description\": \"ok\"}}}}}}}}}}}}"
        );
        load_bytes(doc.as_bytes(), "http://127.0.0.1:5000/openapi.json", &NoRefSource).unwrap()
    };
    let target = "http://127.0.0.1:5000";
    let cases = [
        (", \"servers\": [{\"url\": \"\"}]", "/", Some(0), None),
        (", \"servers\": [{\"url\": \"/\"}]", "/", Some(0), None),
        (", \"servers\": [{\"url\": \"/api/v3\"}]", "/api/v3", Some(0), None),
        (", \"servers\": [{\"url\": \"v1\"}]", "/v1", Some(0), None),
        (", \"servers\": [{\"url\": \"https://prod.example/base\"}]", "/base", Some(0), Some("https://prod.example")),
        (
            ", \"servers\": [{\"url\": \"https://prod.example/base\"}, {\"url\": \"http://127.0.0.1:5000/local\"}]",
            "/local",
            Some(1),
            None,
        ),
        ("", "/", None, None),
    ];
    for (servers, base, index, out_of_scope) in cases {
        let api = spec(servers);
        let resolved = resolve_target(&api, target).unwrap();
        assert_eq!(resolved.target.base_path, base, "{servers}: {}", resolved.choice.reason);
        assert_eq!(resolved.choice.index, index, "{servers}");
        assert_eq!(resolved.choice.out_of_scope.as_deref(), out_of_scope, "{servers}");
        assert_eq!((resolved.target.host.as_str(), resolved.target.port), ("127.0.0.1", 5000), "{servers}");
        let op = &api.operations[0];
        let request = build_request(&api, op, &RequestOptions { base_path: Some(base.into()), ..Default::default() });
        let expected = if base == "/" { "/users/v1".to_string() } else { format!("{base}/users/v1") };
        assert_eq!(request.path, expected, "{servers}");
    }
    // The target's own path wins, and says so.
    let resolved =
        resolve_target(&spec(", \"servers\": [{\"url\": \"/api/v3\"}]"), "http://127.0.0.1:5000/mounted").unwrap();
    assert_eq!(resolved.target.base_path, "/mounted");
    assert!(resolved.choice.reason.contains("target URL's own path"), "{}", resolved.choice.reason);
    // Paths written from the root that already carry the target's path are
    // not prefixed with it again (`/users/users/v1`); a mere string prefix
    // (`/use`) is not a path segment and changes nothing.
    let resolved = resolve_target(&spec(""), "http://127.0.0.1:5000/users/").unwrap();
    assert_eq!(resolved.target.base_path, "/", "{}", resolved.choice.reason);
    assert!(resolved.choice.reason.contains("already begin with"), "{}", resolved.choice.reason);
    let resolved = resolve_target(&spec(""), "http://127.0.0.1:5000/use").unwrap();
    assert_eq!(resolved.target.base_path, "/use");
}

#[test]
fn yaml_integer_keys_and_yaml11_booleans() {
    let api = load("nasty/yaml-keys.yaml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(api.version, SpecVersion::Swagger2, "unquoted `swagger: 2.0` is a float");
    assert_eq!(api.api_version, "1.0");
    let op = &api.operations[0];
    assert_eq!(op.responses.keys().collect::<Vec<_>>(), ["200", "404"]);
    assert!(op.deprecated, "`deprecated: on` means true");
    let force = &op.parameters[0];
    assert!(force.required, "`required: yes` means true");
    assert_eq!(force.schema["enum"], json!(["yes", "no"]), "enum values stay strings");
    let body = op.request_body.as_ref().unwrap().content["application/json"].schema.as_ref().unwrap();
    let keys: Vec<&String> = body["properties"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["on", "yes"], "`on`/`yes` keys stay strings");
    assert_eq!(op.location.line, Some(7));
}

#[test]
fn id_changes_the_base_uri_in_31() {
    let api = load("nasty/id31.yaml").unwrap_or_else(|e| panic!("{e}"));
    assert!(api.skipped.is_empty(), "{:?}", api.skipped);
    assert_eq!(api.operations.len(), 2);
    let pet = api.operations.iter().find(|o| o.path == "/pets").unwrap().responses["200"].content["application/json"]
        .schema
        .clone()
        .unwrap();
    assert_eq!(pet["properties"]["tag"]["enum"], json!(["cat", "dog"]));
    assert_eq!(pet["properties"]["owner"], json!({"type": "string", "minLength": 2}));
    let owners = api.operations.iter().find(|o| o.path == "/owners").unwrap();
    assert_eq!(
        owners.responses["200"].content["application/json"].schema.as_ref().unwrap()["properties"]["name"]["minLength"],
        2
    );
}

#[test]
fn ref_siblings_ignored_in_30_kept_in_31() {
    let code = |file: &str| {
        let api = load(file).unwrap();
        api.operations[0].request_body.as_ref().unwrap().content["application/json"].schema.as_ref().unwrap()["properties"]["code"].clone()
    };
    assert_eq!(code("nasty/siblings30.yaml"), json!({"type": "string", "description": "a code", "minLength": 1}));
    assert_eq!(
        code("nasty/siblings31.yaml"),
        json!({"allOf": [{"type": "string", "description": "a code", "minLength": 1}], "description": "overridden description", "maxLength": 3})
    );
    // And synthesis honours both bounds of the 3.1 form.
    let s = synthesize(
        &code("nasty/siblings31.yaml"),
        &Default::default(),
        &KnownValues::default(),
        &SynthOptions::default(),
    );
    let len = s.value.as_str().unwrap().len();
    assert!((1..=3).contains(&len), "{}", s.value);
}

#[test]
fn alias_bomb_fails_fast() {
    let start = std::time::Instant::now();
    let err = load("nasty/alias-bomb.yaml").unwrap_err();
    assert_eq!(err.kind, ErrorKind::AliasBomb);
    assert!(err.to_string().contains("alias-bomb.yaml:"), "{err}");
    assert!(err.message.contains("alias bomb"), "{err}");
    assert!(start.elapsed() < std::time::Duration::from_secs(5), "took {:?}", start.elapsed());
}

#[test]
fn reference_bombs_skip_their_operations() {
    let api = load("nasty/ref-bomb.yaml").unwrap();
    assert_eq!(ids(&api), ["GET /fine"]);
    let reason = |p: &str| api.skipped.iter().find(|s| s.pointer == p).map(|s| s.reason.clone()).unwrap_or_default();
    assert!(reason("/paths/~1fan/get").contains("reference bomb"), "{:?}", api.skipped);
    assert!(reason("/paths/~1chain/get").contains("deeper than 64"), "{:?}", api.skipped);
    assert!(reason("/paths/~1loop/get").contains("reference cycle"), "{:?}", api.skipped);
    assert_eq!(api.skipped.len(), 3);
    assert!(api.skipped.iter().all(|s| s.line.is_some()));
}

#[test]
fn malformed_documents_name_file_and_line() {
    let err = load("nasty/malformed.yaml").unwrap_err();
    assert_eq!(err.kind, ErrorKind::Syntax);
    assert!(err.file.ends_with("malformed.yaml"));
    assert!(matches!(err.line, Some(8..=10)), "{err}");
    let err = load("nasty/malformed.json").unwrap_err();
    assert_eq!(err.kind, ErrorKind::Syntax);
    assert!(err.message.contains("invalid JSON"), "{err}");
    assert_eq!(err.line, Some(6), "{err}");
    let err = load("nasty/paths-not-object.yaml").unwrap_err();
    assert_eq!((err.kind, err.pointer.as_str(), err.line), (ErrorKind::Invalid, "/paths", Some(3)));
    assert!(err.to_string().ends_with("paths-not-object.yaml:3: at /paths: `paths` must be an object"), "{err}");
    assert_eq!(load("nasty/not-openapi.yaml").unwrap_err().kind, ErrorKind::NotOpenApi);
    assert_eq!(load("nasty/does-not-exist.yaml").unwrap_err().kind, ErrorKind::Io);
}

#[test]
fn dangling_refs_skip_only_their_operations() {
    let api = load("nasty/dangling.yaml").unwrap();
    assert_eq!(ids(&api), ["GET /missing-file", "GET /ok"]);
    assert_eq!(api.skipped.len(), 2);
    let s = api.skipped.iter().find(|s| s.pointer == "/paths/~1missing-schema/get").unwrap();
    assert_eq!(s.line, Some(8));
    assert!(s.reason.contains("`#/components/schemas/Missing` points to nothing"), "{}", s.reason);
    let f = api.skipped.iter().find(|s| s.pointer == "/paths/~1missing-file/post").unwrap();
    assert!(f.reason.contains("nowhere.yaml") && f.line == Some(14), "{f}");
}

#[test]
fn requests_are_concrete_and_deterministic() {
    let api = load("tri/bookshelf.openapi30.yaml").unwrap();
    let opts = RequestOptions::default();
    let all: Vec<ConcreteRequest> = api.operations.iter().map(|o| build_request(&api, o, &opts)).collect();
    let again: Vec<ConcreteRequest> = api.operations.iter().map(|o| build_request(&api, o, &opts)).collect();
    assert_eq!(all, again, "same spec and seed, same requests");
    let by_id =
        |id: &str| all[api.operations.iter().position(|o| o.operation_id.as_deref() == Some(id)).unwrap()].clone();

    let list = by_id("listBooks");
    assert_eq!(list.path_and_query, "/v1/books?limit=20&tags=mortar");
    let create = by_id("createBook");
    assert_eq!(create.content_type.as_deref(), Some("application/json"));
    let book: Value = serde_json::from_slice(create.body.as_ref().unwrap()).unwrap();
    assert!(book.get("id").is_none(), "readOnly left out of requests");
    assert!(book["author"]["name"].is_string() && book["title"].is_string());
    let price = book["price"].as_f64().unwrap();
    assert!(price > 0.0 && ((price * 100.0).round() - price * 100.0).abs() < 1e-9, "{price}");
    let isbn = book["isbn"].as_str().unwrap();
    assert!(regex::Regex::new(r"^97[89]-\d{10}$").unwrap().is_match(isbn), "{isbn}");
    let rid = &create.headers.iter().find(|(k, _)| k == "X-Request-Id").unwrap().1;
    assert_eq!(rid.len(), 36);
    let cat = by_id("getCategory");
    assert!(regex::Regex::new(r"^/v1/categories/[a-z]{3}-\d{2}$").unwrap().is_match(&cat.path), "{}", cat.path);
    let login = by_id("login");
    assert_eq!(login.content_type.as_deref(), Some("application/x-www-form-urlencoded"));
    assert_eq!(String::from_utf8(login.body.clone().unwrap()).unwrap(), "password=mortar&username=mortar");
    let cover = by_id("uploadCover");
    let ct = cover.content_type.clone().unwrap();
    assert!(ct.starts_with("multipart/form-data; boundary=mortar-"), "{ct}");
    let text = String::from_utf8(cover.body.clone().unwrap()).unwrap();
    assert!(text.contains("name=\"file\"; filename=\"file.bin\""), "{text}");

    // Observed ids win over invented ones, by key first, then by name.
    let get = api.operation("getBook").unwrap();
    let mut known = KnownValues::default();
    known.add_name("bookId", json!(4242));
    let r = build_request(&api, get, &RequestOptions { known: known.clone(), ..Default::default() });
    assert_eq!(r.path, "/v1/books/4242");
    known.add_pointer(request::param_key(get, &get.parameters[0]), json!(7));
    let r = build_request(&api, get, &RequestOptions { known, base_path: Some("/".into()), ..Default::default() });
    assert_eq!(r.path, "/books/7");
    // A different seed changes invented values.
    let other = build_request(
        &api,
        api.operation("createBook").unwrap(),
        &RequestOptions { synth: SynthOptions { seed: 1, ..Default::default() }, ..Default::default() },
    );
    assert_ne!(other.headers, create.headers);
}

#[test]
fn truncated_documents_never_panic() {
    for file in [
        "tri/bookshelf.swagger2.yaml",
        "tri/bookshelf.openapi31.json",
        "petstore/petstore.openapi30.yaml",
        "nasty/external/root.yaml",
        "nasty/id31.yaml",
        "nasty/alias-bomb.yaml",
    ] {
        let bytes = std::fs::read(fixture(file)).unwrap();
        let base = fixture(file).display().to_string();
        let step = (bytes.len() / 60).max(1);
        for cut in (0..bytes.len()).step_by(step) {
            if let Ok(api) = load_bytes(&bytes[..cut], &base, &FsRefSource::new()) {
                for op in &api.operations {
                    let _ = build_request(&api, op, &RequestOptions::default());
                }
            }
        }
    }
}

#[test]
fn two_thousand_operations() {
    let spec = testgen::generate_openapi30(2000);
    let api = load_bytes(spec.as_bytes(), "generated.json", &NoRefSource).unwrap();
    assert_eq!(api.operations.len(), 2000);
    assert!(api.skipped.is_empty());
}

//! Synthetic specs of any size, for tests and benchmarks (not for production use).

use std::fmt::Write;

/// An OpenAPI 3.0 JSON document with exactly `operations` operations (rounded
/// up to a multiple of 4 paths' worth is avoided: extra paths get fewer methods).
/// Each path has path, query and header parameters, a JSON body on writes,
/// component refs and a recursive schema, so loading exercises the resolver.
pub fn generate_openapi30(operations: usize) -> String {
    let mut s = String::from(
        r##"{"openapi":"3.0.3","info":{"title":"generated","version":"1"},"servers":[{"url":"https://gen.example/api"}],
"components":{"securitySchemes":{"key":{"type":"apiKey","in":"header","name":"X-Key"}},
"parameters":{"Limit":{"name":"limit","in":"query","schema":{"type":"integer","minimum":1,"maximum":100}}},
"schemas":{"Node":{"type":"object","required":["id"],"properties":{"id":{"type":"string","format":"uuid"},"children":{"type":"array","items":{"$ref":"#/components/schemas/Node"}}}},
"Item":{"type":"object","required":["name","count"],"properties":{"name":{"type":"string","minLength":3,"maxLength":20},"count":{"type":"integer","minimum":0},"email":{"type":"string","format":"email"},"tree":{"$ref":"#/components/schemas/Node"}}}}},
"security":[{"key":[]}],
"paths":{"##,
    );
    let methods = ["get", "put", "post", "delete"];
    let mut left = operations;
    let mut i = 0;
    while left > 0 {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(
            s,
            r#""/r{i}/{{id}}":{{"parameters":[{{"name":"id","in":"path","required":true,"schema":{{"type":"integer","minimum":1}}}}]"#
        );
        for m in methods.iter().take(left.min(4)) {
            let body = if matches!(*m, "put" | "post") {
                r##","requestBody":{"required":true,"content":{"application/json":{"schema":{"$ref":"#/components/schemas/Item"}}}}"##
            } else {
                ""
            };
            let _ = write!(
                s,
                r##","{m}":{{"operationId":"{m}R{i}","parameters":[{{"$ref":"#/components/parameters/Limit"}},{{"name":"X-Trace","in":"header","schema":{{"type":"string","pattern":"^[a-f0-9]{{8}}$"}}}}]{body},"responses":{{"200":{{"description":"ok","content":{{"application/json":{{"schema":{{"$ref":"#/components/schemas/Item"}}}}}}}}}}}}"##
            );
        }
        s.push('}');
        left -= left.min(4);
        i += 1;
    }
    s.push_str("}}");
    s
}

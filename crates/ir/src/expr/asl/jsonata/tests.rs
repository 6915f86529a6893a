//! The JSONata wrapper against the Step Functions documentation and AWS's recordings
//! (`../shared/conformance/sfn`, named per test).

use serde_json::json;

use super::*;
use crate::expr::Entropy;

fn template(field: &str, source: Value) -> JsonataTemplate {
    JsonataTemplate::compile(field, &source).unwrap_or_else(|e| panic!("{e}"))
}

fn eval(source: Value, input: Value) -> Result<Value, String> {
    template("Output", source)
        .evaluate(&Scope::new(&input))
        .map_err(|e| e.to_string())
}

fn output(expression: &str, input: Value) -> Value {
    eval(json!(expression), input).unwrap_or_else(|e| panic!("{expression}: {e}"))
}

// Specification, "JSONata Evaluation": the `GetSampleData` variables, the `A Task` Arguments
// and Output.
#[test]
fn specification_evaluation_example() {
    let vars = json!({
        "student": {"name": "Scotland", "course": [{"grade": 34}, {"grade": 99}, {"grade": 76}, {"grade": 96}]},
        "class": {"teacher": "Bert"},
        "two": "the number 2"
    });
    let vars = vars.as_object().cloned().unwrap_or_default();
    let input = json!({});
    let scope = Scope::new(&input).with_variables(&vars);
    let arguments = template(
        "Arguments",
        json!({
            "student": "{% $student.name %}",
            "classInfo": {"teacher": "{% $class.teacher %}"},
            "values": [1, "{% $two %}", "three"]
        }),
    );
    assert_eq!(
        arguments.evaluate(&scope),
        Ok(
            json!({"student": "Scotland", "classInfo": {"teacher": "Bert"}, "values": [1, "the number 2", "three"]})
        )
    );
    let out = template(
        "Output",
        json!("{% { 'avg': $average($student.course.grade), 'num': $count($student.course) }  %}"),
    );
    assert_eq!(out.evaluate(&scope), Ok(json!({"avg": 76.25, "num": 4})));
}

// Specification, "Assigning State Machine Variables" and "Expressions" (5 factorial).
#[test]
fn specification_variables_and_functions() {
    let vars = json!({"make": "Infiniti", "model": "G35", "year": 2006, "x": 5});
    let vars = vars.as_object().cloned().unwrap_or_default();
    let input = json!({});
    let scope = Scope::new(&input).with_variables(&vars);
    let second = template("Output", json!("{% $year & ' ' & $make & ' ' & $model %}"));
    assert_eq!(second.evaluate(&scope), Ok(json!("2006 Infiniti G35")));
    let assign = template("Assign", json!({"x": 42, "newOrOld": "{% $x %}"}));
    assert_eq!(assign.evaluate(&scope), Ok(json!({"x": 42, "newOrOld": 5})));
    let factorial = template(
        "Output",
        json!("{% ($product := function($x, $y) {$x * $y}; $reduce([1..5], $product)) %}"),
    );
    assert_eq!(factorial.evaluate(&scope), Ok(json!(120)));
}

// Developer Guide, "Transforming data with JSONata": the converted sample, with
// `not-evaluated` left as written.
#[test]
fn developer_guide_conversion_sample() {
    let vars = json!({"customerName": "María"});
    let vars = vars.as_object().cloned().unwrap_or_default();
    let input = json!({"title": "Doctor"});
    let scope = Scope::new(&input).with_variables(&vars);
    let arguments = template(
        "Arguments",
        json!({
            "static": "Hello",
            "title": "{% $states.input.title %}",
            "name": "{% $customerName %}",
            "not-evaluated": "$customerName"
        }),
    );
    assert_eq!(
        arguments.evaluate(&scope),
        Ok(
            json!({"static": "Hello", "title": "Doctor", "name": "María", "not-evaluated": "$customerName"})
        )
    );
}

// Specification, "Reserved "states" Variable with JSONata": the `My Task` Output and Catch.
#[test]
fn states_variable() {
    let input = json!({"customer": "C1"});
    let context = json!({"ElapsedTime": 12});
    let result = json!({"status": "ok"});
    let error = json!({"Error": "E", "Cause": "c"});
    let scope = Scope::new(&input)
        .with_context(&context)
        .with_result(&result);
    let out = template(
        "Output",
        json!({
            "customer": "{% $states.input.customer %}",
            "resultStatus": "{% $states.result.status %}",
            "elapsedTime": "{% $states.context.ElapsedTime %}"
        }),
    );
    assert!(out.uses_context());
    assert_eq!(
        out.evaluate(&scope),
        Ok(json!({"customer": "C1", "resultStatus": "ok", "elapsedTime": 12}))
    );
    let caught = Scope::new(&input).with_error_output(&error);
    let catch = template(
        "Output",
        json!({"errorDetails": "{% $states.errorOutput %}", "input": "{% $states.input %}"}),
    );
    assert_eq!(
        catch.evaluate(&caught),
        Ok(json!({"errorDetails": {"Error": "E", "Cause": "c"}, "input": {"customer": "C1"}}))
    );
    // No result outside Task/Map/Parallel Output: the field is missing, so undefined.
    let e = template("Output", json!("{% $states.result %}")).evaluate(&Scope::new(&input));
    assert!(e.is_err_and(|e| e.to_string().ends_with("returned nothing (undefined).")));
}

// Recorded: `undefined_reference@BASE_UNDEFINED_OUTPUT_FIELD`, `…_ARGUMENTS_FIELD`,
// `math_random_seeded`, `map_state_items_eval_jsonata_fail@function`.
#[test]
fn recorded_failures() {
    let e = template("Output", json!({"result": "{% $doesNotExist %}"}))
        .evaluate(&Scope::new(&json!({})));
    assert_eq!(
        e.as_ref().map_err(|e| e.to_string()),
        Err("The JSONata expression '$doesNotExist' specified for the field 'Output/result' returned nothing (undefined).".to_owned())
    );
    assert_eq!(e.map_err(|e| e.name()), Err("States.QueryEvaluationError"));
    let e = template("Arguments", json!({"FunctionName": "{% $doesNotExist %}"}))
        .evaluate(&Scope::new(&json!({})));
    assert!(e.is_err_and(|e| {
        e.to_string()
            .contains("for the field 'Arguments/FunctionName' returned nothing")
    }));
    let e = template(
        "Output",
        json!({"FunctionResult": "{% $randomSeeded($states.input.FunctionInput.fst) %}"}),
    )
    .evaluate(&Scope::new(&json!({"FunctionInput": "fst"})));
    assert_eq!(
        e.map_err(|e| e.to_string()),
        Err("The JSONata expression '$randomSeeded($states.input.FunctionInput.fst)' specified for the field 'Output/FunctionResult' threw an error during evaluation. T1006: Attempted to invoke a non-function".to_owned())
    );
    let e =
        template("Items", json!("{% $fn := function($x){$x} %}")).evaluate(&Scope::new(&json!({})));
    assert_eq!(
        e.map_err(|e| e.to_string()),
        Err("The JSONata expression '$fn := function($x){$x}' specified for the field 'Items' returned an unsupported result type.".to_owned())
    );
}

// Recorded: `array_jsonata.array_range` (four runs).
#[test]
fn range_as_recorded() {
    let range = |a: i64, b: i64, c: i64| {
        output(
            "{% $range($states.input.FunctionInput.fst, $states.input.FunctionInput.snd, $states.input.FunctionInput.trd) %}",
            json!({"FunctionInput": {"fst": a, "snd": b, "trd": c}}),
        )
    };
    assert_eq!(range(0, 9, 3), json!([0, 3, 6, 9]));
    assert_eq!(range(0, 10, 3), json!([0, 3, 6, 9]));
    assert_eq!(range(1, 9, 9), json!(1));
    assert_eq!(range(1, 9, 2), json!([1, 3, 5, 7, 9]));
    assert_eq!(
        output("{% $range(0, 10, 2) %}", json!({})),
        json!([0, 2, 4, 6, 8, 10])
    );
    assert_eq!(
        output("{% $range(10, 0, -5) %}", json!({})),
        json!([10, 5, 0])
    );
    assert!(eval(json!("{% $range(0, 1, 0) %}"), json!({})).is_err());
    assert!(eval(json!("{% $range(0, 1.5, 1) %}"), json!({})).is_err());
}

// Recorded: `json_manipulation_jsonata.parse` (seven runs).
#[test]
fn parse_as_recorded() {
    let parse = |text: &str| {
        output(
            "{% $parse($states.input.FunctionInput) %}",
            json!({"FunctionInput": text}),
        )
    };
    assert_eq!(parse("-0"), json!(0));
    assert_eq!(parse("1"), json!(1));
    assert_eq!(parse("1.1"), json!(1.1));
    assert_eq!(parse("true"), json!(true));
    assert_eq!(parse("\"HelloWorld\""), json!("HelloWorld"));
    assert_eq!(parse("[1, 2, \"HelloWorld\"]"), json!([1, 2, "HelloWorld"]));
    assert_eq!(
        parse("{\"Arg1\": 1, \"Arg2\": []}"),
        json!({"Arg1": 1, "Arg2": []})
    );
    let e = eval(json!("{% $parse('{') %}"), json!({}));
    assert!(e.is_err_and(|e| e.contains("threw an error during evaluation")));
}

// Developer Guide, "Transforming data with JSONata", functions provided by Step Functions.
#[test]
fn aws_functions() {
    assert_eq!(
        output(
            "{% $partition([1, 2, 3, 4, 5, 6, 7, 8, 9], 3) %}",
            json!({})
        ),
        json!([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    );
    assert_eq!(
        output("{% $partition([1, 2, 3, 4, 5], 2) %}", json!({})),
        json!([[1, 2], [3, 4], [5]])
    );
    assert!(eval(json!("{% $partition([1], 0) %}"), json!({})).is_err());
    // The digests of the Developer Guide's `States.Hash` example, as AWS recorded them
    // (conformance `hash_calculations.hash`).
    assert_eq!(
        output("{% $hash('input data', 'SHA-1') %}", json!({})),
        json!("aaff4a450a104cd177d28d18d74485e8cae074b7")
    );
    assert_eq!(
        output(
            "{% $hash($states.input.content, 'MD5') %}",
            json!({"content": "input data"})
        ),
        json!("812f45842bc6d66ee14572ce20db8e86")
    );
    assert!(eval(json!("{% $hash('x', 'SHA-3') %}"), json!({})).is_err());
    let uuid = output("{% $uuid() %}", json!({}));
    let version = uuid
        .as_str()
        .and_then(|s| uuid::Uuid::parse_str(s).ok())
        .map(|u| u.get_version_num());
    assert_eq!(version, Some(4));
}

#[test]
fn randomness_comes_from_the_scope() {
    let input = json!({});
    let run = |seed| {
        let entropy = Entropy::new(seed);
        let scope = Scope::new(&input).with_entropy(&entropy);
        template(
            "Output",
            json!({"r": "{% $random() %}", "u": "{% $uuid() %}", "s": "{% $shuffle([1, 2, 3, 4, 5, 6, 7, 8]) %}"}),
        )
        .evaluate(&scope)
    };
    let first = run(1);
    assert_eq!(first, run(1));
    assert_ne!(first, run(2));
    let value = first.unwrap_or_default();
    assert!(value["r"].as_f64().is_some_and(|r| (0.0..1.0).contains(&r)));
    let mut shuffled: Vec<i64> = value["s"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default();
    shuffled.sort_unstable();
    assert_eq!(shuffled, vec![1, 2, 3, 4, 5, 6, 7, 8]);
    // A seed makes `$random` reproducible across evaluations (`$random($states.input.seed)`).
    let seeded = |seed: i64| output("{% $random($states.input.seed) %}", json!({"seed": seed}));
    assert_eq!(seeded(7), seeded(7));
    assert_ne!(seeded(7), seeded(8));
}

#[test]
fn the_clock_comes_from_the_scope() {
    let input = json!({});
    let now = jiff::Timestamp::from_millisecond(1_700_000_000_123).unwrap_or_default();
    let scope = Scope::new(&input).with_now(now);
    let t = template(
        "Output",
        json!({"now": "{% $now() %}", "millis": "{% $millis() %}"}),
    );
    assert_eq!(
        t.evaluate(&scope),
        Ok(json!({"now": "2023-11-14T22:13:20.123Z", "millis": 1_700_000_000_123_i64}))
    );
}

// Specification, "JSONata Restrictions": no input document, so `$`, `$$` and bare names at the
// top level find nothing; Developer Guide: `$eval` is not available.
#[test]
fn restrictions() {
    for expression in ["{% $ %}", "{% $$ %}", "{% total %}"] {
        let e = eval(json!(expression), json!({"total": 1}));
        assert!(
            e.is_err_and(|e| e.ends_with("returned nothing (undefined).")),
            "{expression}"
        );
    }
    // Nested, `$` is the context value.
    assert_eq!(
        output(
            "{% $states.input.orders[$.total > 10].id %}",
            json!({"orders": [{"id": 1, "total": 5}, {"id": 2, "total": 50}]})
        ),
        json!(2)
    );
    let e = eval(json!("{% $eval('1 + 1') %}"), json!({}));
    assert!(e.is_err_and(|e| e.ends_with("T1006: Attempted to invoke a non-function")));
}

#[test]
fn guardrails_stop_runaway_expressions() {
    let e = eval(
        json!("{% ($f := function($x) { $f($x) + 1 }; $f(1)) %}"),
        json!({}),
    );
    assert!(e.is_err_and(|e| e.contains("threw an error during evaluation")));
}

#[test]
fn only_whole_delimited_strings_are_expressions() {
    let t = template(
        "Output",
        json!({"a": " {% 1 %}", "b": "{% 1 %} ", "c": "{%1+1%}", "d": "{% %}x"}),
    );
    assert_eq!(
        t.evaluate(&Scope::new(&json!({}))),
        Ok(json!({"a": " {% 1 %}", "b": "{% 1 %} ", "c": 2, "d": "{% %}x"}))
    );
    assert!(
        template("Output", json!({"k": "plain"}))
            .expression()
            .is_none()
    );
    assert_eq!(
        template("Output", json!("{% 1 %}"))
            .expression()
            .map(JsonataExpr::source),
        Some("1")
    );
}

#[test]
fn results_are_plain_json() {
    assert_eq!(output("{% 1 + 2 %}", json!({})), json!(3));
    assert_eq!(output("{% 7 / 2 %}", json!({})), json!(3.5));
    assert_eq!(
        output("{% {'a': undefined, 'b': 1} %}", json!({})),
        json!({"b": 1})
    );
    assert_eq!(output("{% [1, $nothing, 2] %}", json!({})), json!([1, 2]));
    assert_eq!(output("{% null %}", json!({})), Value::Null);
}

#[test]
fn parse_errors_name_the_field() {
    let e = JsonataTemplate::compile("Arguments", &json!({"x": ["{% 1 + %}"]}));
    let e = e.err().unwrap_or_else(|| panic!("should not parse"));
    assert_eq!(e.field, "Arguments/x/0");
    assert_eq!(e.expression, "1 +");
    assert!(e.to_string().starts_with(
        "the JSONata expression '1 +' specified for the field 'Arguments/x/0' is invalid"
    ));
}

#[test]
fn serde_round_trips_through_the_source() {
    let t = template("Output", json!({"a": "{% $x %}"}));
    let text = serde_json::to_string(&t).unwrap_or_default();
    let back: JsonataTemplate = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back, t);
}

#[test]
fn compiled_templates_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<JsonataTemplate>();
    shareable::<crate::expr::asl::PayloadTemplate>();
}

#[test]
fn parse_errors_carry_jsonata_codes() {
    let e = JsonataTemplate::compile("Output", &json!("{% 1 /* no end %}"));
    assert!(e.is_err_and(|e| e.message == "S0106: Comment has no closing tag"));
    let e = JsonataTemplate::compile("Output", &json!("{% [1, %}"));
    assert!(
        e.is_err_and(|e| e.message.contains("S0")),
        "a parse error has an S0xxx code"
    );
}

#[test]
fn only_the_parts_of_states_read_are_built() {
    use std::cell::Cell;
    let built = Cell::new(0);
    let context = || {
        built.set(built.get() + 1);
        json!({"Execution": {"Id": "x"}})
    };
    let input = json!({"a": 1});
    let scope = Scope::new(&input).with_lazy_context(&context);
    let input_only = template("Output", json!("{% $states.input.a %}"));
    assert!(!input_only.uses_context());
    assert_eq!(input_only.evaluate(&scope), Ok(json!(1)));
    assert_eq!(
        built.get(),
        0,
        "reading $states.input does not build the context object"
    );
    let whole = template("Output", json!("{% $states %}"));
    assert!(whole.uses_context());
    assert_eq!(
        whole.evaluate(&scope),
        Ok(json!({"input": {"a": 1}, "context": {"Execution": {"Id": "x"}}}))
    );
    let looked_up = template(
        "Output",
        json!("{% $lookup($states, 'context').Execution.Id %}"),
    );
    assert_eq!(looked_up.evaluate(&scope), Ok(json!("x")));
    assert_eq!(built.get(), 1);
    assert_eq!(
        dollar_names("$states.inputs & $states.context.x & $sum($states.result)"),
        vec![
            "states",
            "states.*",
            "states.context",
            "sum",
            "states.result"
        ]
    );
}

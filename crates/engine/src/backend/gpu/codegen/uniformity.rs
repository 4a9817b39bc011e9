//! A check of the generated kernels: every barrier runs in workgroup-uniform control flow.
//!
//! With the workgroup exchange ([`crate::backend::gpu::codegen::variants::Exchange::Workgroup`]) every `exchange` is a
//! `workgroupBarrier()`, so every function that crosses lanes (`add_limbs`, `mont_mul`,
//! `lane_sum`, …) must be reached by every invocation of the workgroup or by none. A call under
//! `if (live)` (the groups past the end of a batch skip it) breaks that rule: WGSL leaves the
//! result undefined and drivers differ (lavapipe 22 computes what was meant, lavapipe 25 does
//! not for the last, partly filled workgroup of a batch), and a GPU without subgroup
//! operations (the only kind that takes this path) may also hang. naga does not check
//! barriers' uniformity, so this module does, on naga's IR
//! of each kernel: a conservative taint analysis of which values can differ between the
//! invocations of a workgroup, then a walk that rejects a barrier, or a call of a function that
//! holds one, under a branch, loop exit or early return that depends on such a value.

use std::collections::HashSet;

use wgpu::naga::{
    AddressSpace, Block, BuiltIn, Expression, Function, Handle, Module, Statement, StorageAccess,
};

/// Places where a barrier runs in control flow that may differ within a workgroup: `caller
/// → what it reaches there` (a barrier, or a function holding one).
pub(in crate::backend::gpu) fn non_uniform_barriers(wgsl: &str) -> Result<Vec<String>, String> {
    let module = wgpu::naga::front::wgsl::parse_str(wgsl).map_err(|e| e.emit_to_string(wgsl))?;
    let mut analysis = Analysis::new(&module);
    analysis.propagate();
    Ok(analysis.violations())
}

/// What may differ between the invocations of one workgroup, per function of the module.
struct Analysis<'a> {
    module: &'a Module,
    /// Functions then entry points, in the module's order.
    functions: Vec<(&'a str, &'a Function)>,
    /// Functions that hold a barrier, themselves or through a call.
    barriers: Vec<bool>,
    /// Globals whose loaded value may differ (workgroup and writable storage memory always).
    globals: HashSet<Handle<wgpu::naga::GlobalVariable>>,
    /// Per function: arguments that may differ, locals that may, whether its result may,
    /// whether some call of it runs in non-uniform control flow.
    arguments: Vec<Vec<bool>>,
    locals: Vec<HashSet<Handle<wgpu::naga::LocalVariable>>>,
    results: Vec<bool>,
    called_non_uniformly: Vec<bool>,
    changed: bool,
}

impl<'a> Analysis<'a> {
    fn new(module: &'a Module) -> Self {
        let mut functions: Vec<(&str, &Function)> = module
            .functions
            .iter()
            .map(|(_, f)| (f.name.as_deref().unwrap_or("?"), f))
            .collect();
        functions.extend(
            module
                .entry_points
                .iter()
                .map(|e| (e.name.as_str(), &e.function)),
        );
        let globals = module
            .global_variables
            .iter()
            .filter(|(_, g)| match g.space {
                AddressSpace::WorkGroup => true,
                AddressSpace::Storage { access } => access.contains(StorageAccess::STORE),
                _ => false,
            })
            .map(|(h, _)| h)
            .collect();
        let entry_first = module.functions.len();
        let arguments = functions
            .iter()
            .enumerate()
            .map(|(i, (_, f))| {
                f.arguments
                    .iter()
                    .map(|a| {
                        // An entry point's builtins: only the workgroup's id and count are the
                        // same for all its invocations.
                        i >= entry_first
                            && !matches!(
                                a.binding,
                                Some(wgpu::naga::Binding::BuiltIn(
                                    BuiltIn::WorkGroupId | BuiltIn::NumWorkGroups
                                ))
                            )
                    })
                    .collect()
            })
            .collect();
        let count = functions.len();
        let mut analysis = Self {
            module,
            functions,
            barriers: vec![false; count],
            globals,
            arguments,
            locals: vec![HashSet::new(); count],
            results: vec![false; count],
            called_non_uniformly: vec![false; count],
            changed: false,
        };
        analysis.find_barriers();
        analysis
    }

    fn find_barriers(&mut self) {
        loop {
            let mut changed = false;
            for i in 0..self.functions.len() {
                if !self.barriers[i] && self.block_has_barrier(&self.functions[i].1.body) {
                    self.barriers[i] = true;
                    changed = true;
                }
            }
            if !changed {
                return;
            }
        }
    }

    fn block_has_barrier(&self, block: &Block) -> bool {
        block.iter().any(|s| match s {
            Statement::ControlBarrier(_)
            | Statement::MemoryBarrier(_)
            | Statement::WorkGroupUniformLoad { .. } => true,
            Statement::Call { function, .. } => self.barriers[function.index()],
            Statement::Block(b) => self.block_has_barrier(b),
            Statement::If { accept, reject, .. } => {
                self.block_has_barrier(accept) || self.block_has_barrier(reject)
            }
            Statement::Switch { cases, .. } => {
                cases.iter().any(|c| self.block_has_barrier(&c.body))
            }
            Statement::Loop {
                body, continuing, ..
            } => self.block_has_barrier(body) || self.block_has_barrier(continuing),
            _ => false,
        })
    }

    /// Runs the taint rules over every function until nothing changes.
    fn propagate(&mut self) {
        loop {
            self.changed = false;
            for i in 0..self.functions.len() {
                let uniform = !self.called_non_uniformly[i];
                let taint = self.expression_taint(i);
                let function: &'a Function = self.functions[i].1;
                self.walk(i, &taint, &function.body, uniform, &mut |_, _| {});
            }
            if !self.changed {
                return;
            }
        }
    }

    /// The places where a barrier runs in non-uniform control flow.
    fn violations(&mut self) -> Vec<String> {
        let mut found = Vec::new();
        for i in 0..self.functions.len() {
            let taint = self.expression_taint(i);
            let (name, function): (&'a str, &'a Function) = self.functions[i];
            self.walk(i, &taint, &function.body, true, &mut |what, module| {
                found.push(format!("{name} → {}", what.describe(module)));
            });
        }
        found.sort();
        found.dedup();
        found
    }

    /// Whether each expression of function `i` may differ within a workgroup.
    fn expression_taint(&self, i: usize) -> Vec<bool> {
        let function = self.functions[i].1;
        let mut calls = vec![None; function.expressions.len()];
        collect_calls(&function.body, &mut calls);
        let mut taint = vec![false; function.expressions.len()];
        for (h, expression) in function.expressions.iter() {
            let t = |e: &Handle<Expression>| taint[e.index()];
            taint[h.index()] = match expression {
                Expression::Literal(_)
                | Expression::Constant(_)
                | Expression::Override(_)
                | Expression::ZeroValue(_)
                | Expression::ArrayLength(_)
                | Expression::WorkGroupUniformLoadResult { .. } => false,
                Expression::FunctionArgument(a) => self.arguments[i][*a as usize],
                Expression::GlobalVariable(g) => self.globals.contains(g),
                Expression::LocalVariable(l) => self.locals[i].contains(l),
                Expression::Load { pointer } => t(pointer),
                Expression::Access { base, index } => t(base) || t(index),
                Expression::AccessIndex { base, .. } => t(base),
                Expression::Splat { value, .. } => t(value),
                Expression::Swizzle { vector, .. } => t(vector),
                Expression::Compose { components, .. } => components.iter().any(t),
                Expression::Unary { expr, .. } | Expression::As { expr, .. } => t(expr),
                Expression::Binary { left, right, .. } => t(left) || t(right),
                Expression::Select {
                    condition,
                    accept,
                    reject,
                } => t(condition) || t(accept) || t(reject),
                Expression::Relational { argument, .. } => t(argument),
                Expression::Math {
                    arg,
                    arg1,
                    arg2,
                    arg3,
                    ..
                } => t(arg) || [arg1, arg2, arg3].into_iter().flatten().any(t),
                Expression::CallResult(callee) => match &calls[h.index()] {
                    Some(arguments) => {
                        self.results[callee.index()]
                            || arguments
                                .iter()
                                .any(|a: &Handle<Expression>| taint[a.index()])
                    }
                    None => true,
                },
                // Subgroup, atomic, image and anything else: assumed to differ.
                _ => true,
            };
        }
        taint
    }

    /// Walks `block` of function `i` in control flow that is uniform or not, recording what
    /// may differ (stores, call arguments, results) and reporting each barrier reached in
    /// non-uniform flow. Returns which early exits some invocations may take and others not.
    fn walk(
        &mut self,
        i: usize,
        taint: &[bool],
        block: &'a Block,
        mut uniform: bool,
        report: &mut dyn FnMut(Reached, &Module),
    ) -> Exits {
        let mut exits = Exits::default();
        for statement in block.iter() {
            match statement {
                Statement::ControlBarrier(_)
                | Statement::MemoryBarrier(_)
                | Statement::WorkGroupUniformLoad { .. }
                    if !uniform =>
                {
                    report(Reached::Barrier, self.module)
                }
                Statement::Call {
                    function,
                    arguments,
                    ..
                } => {
                    let callee = function.index();
                    if !uniform && self.barriers[callee] {
                        report(Reached::Call(*function), self.module);
                    }
                    if !uniform {
                        self.mark(|a| &mut a.called_non_uniformly[callee]);
                    }
                    for (k, argument) in arguments.iter().enumerate() {
                        if taint[argument.index()] {
                            self.mark(|a| &mut a.arguments[callee][k]);
                        }
                    }
                }
                Statement::Store { pointer, value }
                    if !uniform || taint[value.index()] || taint[pointer.index()] =>
                {
                    let newly = match root(self.functions[i].1, *pointer) {
                        Some(Root::Local(l)) => self.locals[i].insert(l),
                        Some(Root::Global(g)) => self.globals.insert(g),
                        None => false,
                    };
                    self.changed |= newly;
                }
                Statement::Return { value } => {
                    if value.is_some_and(|v| taint[v.index()]) || !uniform {
                        self.mark(|a| &mut a.results[i]);
                    }
                    exits.function |= !uniform;
                }
                Statement::Break | Statement::Continue => exits.enclosing |= !uniform,
                Statement::Block(b) => exits.join(self.walk(i, taint, b, uniform, report)),
                Statement::If {
                    condition,
                    accept,
                    reject,
                } => {
                    let inner = uniform && !taint[condition.index()];
                    exits.join(self.walk(i, taint, accept, inner, report));
                    exits.join(self.walk(i, taint, reject, inner, report));
                }
                Statement::Switch { selector, cases } => {
                    let inner = uniform && !taint[selector.index()];
                    for case in cases {
                        exits.join(self.walk(i, taint, &case.body, inner, report));
                    }
                }
                Statement::Loop {
                    body,
                    continuing,
                    break_if,
                } => {
                    // A loop that some invocations leave early (or return from) runs
                    // non-uniformly throughout: walk it once to learn that, then as it is.
                    let mut inside = self.walk(i, taint, body, uniform, &mut |_, _| {});
                    inside.join(self.walk(i, taint, continuing, uniform, &mut |_, _| {}));
                    let apart = inside.enclosing
                        || inside.function
                        || break_if.is_some_and(|b| taint[b.index()]);
                    let inner = uniform && !apart;
                    self.walk(i, taint, body, inner, report);
                    self.walk(i, taint, continuing, inner, report);
                    exits.function |= inside.function;
                }
                _ => {}
            }
            // Past an early exit that some invocations take, the rest of the block is not
            // uniform.
            if exits.enclosing || exits.function {
                uniform = false;
            }
        }
        exits
    }

    fn mark(&mut self, flag: impl FnOnce(&mut Self) -> &mut bool) {
        let slot = flag(self);
        if !*slot {
            *slot = true;
            self.changed = true;
        }
    }
}

/// Early exits that some invocations may take and others not: of the enclosing loop or
/// switch (`break`, `continue`), or of the function (`return`).
#[derive(Default)]
struct Exits {
    enclosing: bool,
    function: bool,
}

impl Exits {
    fn join(&mut self, other: Exits) {
        self.enclosing |= other.enclosing;
        self.function |= other.function;
    }
}

/// A barrier reached in non-uniform control flow: the barrier itself, or a call of a function
/// that holds one.
enum Reached {
    Barrier,
    Call(Handle<Function>),
}

impl Reached {
    fn describe(&self, module: &Module) -> String {
        match self {
            Reached::Barrier => "a barrier".into(),
            Reached::Call(f) => {
                format!("{}()", module.functions[*f].name.as_deref().unwrap_or("?"))
            }
        }
    }
}

/// The variable a pointer expression points into.
enum Root {
    Local(Handle<wgpu::naga::LocalVariable>),
    Global(Handle<wgpu::naga::GlobalVariable>),
}

fn root(function: &Function, pointer: Handle<Expression>) -> Option<Root> {
    match &function.expressions[pointer] {
        Expression::LocalVariable(l) => Some(Root::Local(*l)),
        Expression::GlobalVariable(g) => Some(Root::Global(*g)),
        Expression::Access { base, .. } | Expression::AccessIndex { base, .. } => {
            root(function, *base)
        }
        _ => None,
    }
}

/// The arguments of each call, by the handle of its result.
fn collect_calls(block: &Block, calls: &mut [Option<Vec<Handle<Expression>>>]) {
    for statement in block.iter() {
        match statement {
            Statement::Call {
                arguments,
                result: Some(result),
                ..
            } => calls[result.index()] = Some(arguments.clone()),
            Statement::Block(b) => collect_calls(b, calls),
            Statement::If { accept, reject, .. } => {
                collect_calls(accept, calls);
                collect_calls(reject, calls);
            }
            Statement::Switch { cases, .. } => {
                for case in cases {
                    collect_calls(&case.body, calls);
                }
            }
            Statement::Loop {
                body, continuing, ..
            } => {
                collect_calls(body, calls);
                collect_calls(continuing, calls);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;

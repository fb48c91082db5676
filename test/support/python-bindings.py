"""Reads Python code for test/python.test.ts and prints what it finds as JSON.

  compile ROOT                 byte-compiles every .py file under ROOT; exits 1 at the first that does not compile
  api MODULE_FILE              the public classes of a generated module (each member with its parameter names) and its __all__
  calls SOURCE_FILE MODULE     the calls and attribute reads that SOURCE_FILE makes on MODULE's classes

Only the standard library is used: the generated bindings import `jsii`, `aws_cdk` and `constructs`, which
are not installed, so everything here reads the code instead of running it.
"""
import ast
import builtins
import json
import keyword
import pathlib
import py_compile
import sys


def compile_tree(root):
    compiled = []
    for file in sorted(pathlib.Path(root).rglob('*.py')):
        try:
            py_compile.compile(str(file), doraise=True)
        except py_compile.PyCompileError as error:
            sys.exit(error.msg)
        compiled.append(file.relative_to(root).as_posix())
    return {'compiled': compiled}


def parameters(function):
    args = function.args
    names = [arg.arg for arg in args.posonlyargs + args.args + args.kwonlyargs]
    return [name for name in names if name not in ('self', 'cls')]


def is_setter(function):
    return any(isinstance(decorator, ast.Attribute) and decorator.attr == 'setter' for decorator in function.decorator_list)


def public_api(module_file):
    """Each public class's members (a name defined twice in one class body is listed under `duplicates`), and the
    module's `__all__`: the generated module ends with `publication.publish()`, which hides every other name."""
    tree = ast.parse(pathlib.Path(module_file).read_text(), module_file)
    classes = {}
    exports = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(target, ast.Name) and target.id == '__all__' for target in node.targets):
            exports = ast.literal_eval(node.value)
        if not isinstance(node, ast.ClassDef) or node.name.startswith('_'):
            continue
        members = {}
        duplicates = []
        for item in node.body:
            if isinstance(item, ast.FunctionDef) and not is_setter(item):
                defined = {item.name: parameters(item)}
            elif isinstance(item, ast.Assign):
                defined = {target.id: [] for target in item.targets if isinstance(target, ast.Name)}
            else:
                continue
            for name, params in defined.items():
                if name in members:
                    duplicates.append(name)
                members[name] = params
        classes[node.name] = {
            'members': {name: params for name, params in members.items() if not name.startswith('__') or name == '__init__'},
            'duplicates': duplicates,
        }
    return {
        'classes': classes,
        'exports': exports,
        'keywords': keyword.kwlist + keyword.softkwlist,
        'builtins': [name for name in dir(builtins) if not name.startswith('_')],
    }


def calls(source_file, module):
    """`Class.member` for every call and attribute read on a class imported from `module` or on a variable assigned
    one of its instances, with the keyword arguments of each call."""
    tree = ast.parse(pathlib.Path(source_file).read_text(), source_file)
    imported = {alias.asname or alias.name for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.module == module for alias in node.names}
    instances = {}
    for node in ast.walk(tree):
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                and isinstance(node.value.func, ast.Name) and node.value.func.id in imported):
            instances.update({target.id: node.value.func.id for target in node.targets if isinstance(target, ast.Name)})

    def owner(expression):
        if isinstance(expression, ast.Name):
            return expression.id if expression.id in imported else instances.get(expression.id)
        return None

    found = []
    called = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        keywords = [keyword_arg.arg for keyword_arg in node.keywords if keyword_arg.arg is not None]
        if isinstance(node.func, ast.Name) and node.func.id in imported:
            found.append({'member': f'{node.func.id}.__init__', 'keywords': keywords})
        elif isinstance(node.func, ast.Attribute) and owner(node.func.value):
            found.append({'member': f'{owner(node.func.value)}.{node.func.attr}', 'keywords': keywords})
            called.add(id(node.func))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and id(node) not in called and owner(node.value):
            found.append({'member': f'{owner(node.value)}.{node.attr}', 'keywords': []})
    return {'imported': sorted(imported), 'uses': found}


COMMANDS = {'compile': compile_tree, 'api': public_api, 'calls': calls}

if __name__ == '__main__':
    print(json.dumps(COMMANDS[sys.argv[1]](*sys.argv[2:])))

import type { Type } from '@nestjs/common';
import { MetadataScanner, type ModulesContainer } from '@nestjs/core';

/** One method of a controller of the app. */
export interface ControllerMethod {
  controller: Type<unknown>;
  name: string;
  method: object;
}

/** The controllers of every module of the app. */
export function* controllersOf(modules: ModulesContainer): Iterable<Type<unknown>> {
  for (const moduleRef of modules.values()) {
    for (const wrapper of moduleRef.controllers.values()) {
      const controller = wrapper.metatype as Type<unknown> | null;
      if (typeof controller === 'function') yield controller;
    }
  }
}

/** Every method of every controller of the app, inherited ones included. */
export function* controllerMethodsOf(modules: ModulesContainer): Iterable<ControllerMethod> {
  const scanner = new MetadataScanner();
  for (const controller of controllersOf(modules)) {
    const proto = controller.prototype as Record<string, unknown>;
    for (const name of scanner.getAllMethodNames(proto)) {
      const method = proto[name];
      if (typeof method === 'function') yield { controller, name, method };
    }
  }
}

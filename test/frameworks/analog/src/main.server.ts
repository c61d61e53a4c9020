// Analog's prerender calls this module's default export for each route.
import '@angular/platform-server/init'
import { type ApplicationConfig, mergeApplicationConfig } from '@angular/core'
import { type BootstrapContext, bootstrapApplication } from '@angular/platform-browser'
import { provideServerRendering, renderApplication } from '@angular/platform-server'
import { App } from './app/app'
import { appConfig } from './app/app.config'

const serverConfig: ApplicationConfig = mergeApplicationConfig(appConfig, { providers: [provideServerRendering()] })

export default function render(url: string, document: string) {
  return renderApplication((context: BootstrapContext) => bootstrapApplication(App, serverConfig, context), { document, url })
}
